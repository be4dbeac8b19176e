import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { OpenApiValidator } from '../sandbox/openapi-validator.ts';

/**
 * A 127.0.0.1 stand-in for the four GitHub REST endpoints github-review mode reads. Every
 * answer is built from the example GitHub publishes in its own OpenAPI description
 * (@octokit/openapi) with the fields of a scenario overridden, and every request and answer
 * is checked against that description: a shape the real API would not send fails the test.
 */
const SPEC_FILE = fileURLToPath(
  new URL('../../node_modules/@octokit/openapi/generated/api.github.com.json', import.meta.url),
);
let spec: OpenApiValidator | undefined;
export function githubSpec(): OpenApiValidator {
  spec ??= new OpenApiValidator(SPEC_FILE);
  return spec;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const example = (name: string): any => {
  const value = githubSpec().doc.components.examples[name].value;
  return clone(Array.isArray(value) ? value[0] : value);
};

export interface FakePull {
  number: number;
  headSha: string;
  mergeCommitSha: string;
  mergedAt: string;
  base?: string;
  /** Who opened it. */
  user: string;
  /** The commits' GitHub logins (author) and emails. */
  commits: Array<{ login: string; email: string }>;
  reviews: Array<{
    login: string;
    state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
    commitId: string;
    at: string;
  }>;
  /** Commits GitHub associates with this pull request (its merge commit, squash commit or rebased commits). */
  associated: string[];
}

export interface FakeGitHub {
  url: string;
  pulls: FakePull[];
  /** After `skip` answered requests, answer the next n with this HTTP status (a GitHub outage mid-decision). */
  failNext(n: number, status?: number, skip?: number): void;
  /** Shape violations of any request or answer so far (must stay empty). */
  violations: string[];
  requests: string[];
  close(): Promise<void>;
}

const ROUTES: Array<[RegExp, string]> = [
  [/^\/repos\/[^/]+\/[^/]+\/commits\/[^/]+\/pulls$/, '/repos/{owner}/{repo}/commits/{commit_sha}/pulls'],
  [/^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/reviews$/, '/repos/{owner}/{repo}/pulls/{pull_number}/reviews'],
  [/^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/commits$/, '/repos/{owner}/{repo}/pulls/{pull_number}/commits'],
  [/^\/repos\/[^/]+\/[^/]+\/contents\/.+$/, '/repos/{owner}/{repo}/contents/{path}'],
];

/** `repoDir` answers the contents endpoint: blob ids at any commit the scenario made. */
export async function startFakeGitHub(repoDir: string, token: string): Promise<FakeGitHub> {
  const validator = githubSpec();
  const violations: string[] = [];
  const requests: string[] = [];
  const pulls: FakePull[] = [];
  let failures = 0;
  let failStatus = 502;
  let skipBeforeFailing = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://github');
    const route = ROUTES.find(([re]) => re.test(url.pathname));
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown) => {
      if (status === 200 && route) {
        const content = validator.doc.paths[route[1]].get.responses['200'].content;
        const schema = (content['application/json'] ?? content['application/vnd.github.object']).schema;
        violations.push(...validator.validate(body, schema, route[1]));
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (!route || req.method !== 'GET' || !validator.doc.paths[route[1]]?.get) {
      violations.push(`not a GitHub endpoint github-review should call: ${req.method} ${url.pathname}`);
      return send(404, { message: 'Not Found' });
    }
    if (req.headers.authorization !== `token ${token}` && req.headers.authorization !== `bearer ${token}`) {
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }
    if (failures > 0 && skipBeforeFailing > 0) skipBeforeFailing--;
    else if (failures > 0) {
      failures--;
      return send(failStatus, { message: 'Server Error' });
    }
    const parts = url.pathname.split('/');
    if (route[1].endsWith('/pulls') && route[1].includes('/commits/')) {
      const sha = parts[5]!;
      return send(
        200,
        pulls
          .filter((p) => p.associated.includes(sha))
          .map((p) => {
            const pr = example('pull-request-simple-items');
            // GitHub's own example lists a team without its required `type`: no team was asked here.
            Object.assign(pr, {
              number: p.number,
              merged_at: p.mergedAt,
              merge_commit_sha: p.mergeCommitSha,
              state: 'closed',
              requested_teams: [],
            });
            pr.user.login = p.user;
            pr.head.sha = p.headSha;
            pr.base.ref = p.base ?? 'main';
            return pr;
          }),
      );
    }
    const pull = pulls.find((p) => p.number === Number(parts[5]));
    if (route[1].endsWith('/reviews')) {
      if (!pull) return send(404, { message: 'Not Found' });
      return send(
        200,
        pull.reviews.map((r, i) => {
          const review = example('pull-request-review-items');
          Object.assign(review, { id: 1000 + i, state: r.state, commit_id: r.commitId, submitted_at: r.at });
          review.user.login = r.login;
          return review;
        }),
      );
    }
    if (route[1].endsWith('/commits')) {
      if (!pull) return send(404, { message: 'Not Found' });
      return send(
        200,
        pull.commits.map((c) => {
          const commit = example('commit-items');
          commit.author.login = c.login;
          commit.committer.login = c.login;
          commit.commit.author.email = c.email;
          commit.commit.committer.email = c.email;
          return commit;
        }),
      );
    }
    const path = decodeURIComponent(parts.slice(5).join('/'));
    const ref = url.searchParams.get('ref') ?? 'HEAD';
    let blob: string;
    try {
      blob = execFileSync('git', ['rev-parse', `${ref}:${path}`], {
        cwd: repoDir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return send(404, { message: 'Not Found' });
    }
    const file = example('content-file-response-if-content-is-a-file');
    Object.assign(file, { sha: blob, path, name: path.slice(path.lastIndexOf('/') + 1) });
    return send(200, file);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pulls,
    violations,
    requests,
    failNext(n, status = 502, skip = 0) {
      failures = n;
      failStatus = status;
      skipBeforeFailing = skip;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
