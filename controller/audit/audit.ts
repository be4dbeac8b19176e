import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  LetheConfig,
  PrivacyRequestStatus,
  ShredRecord,
  type ApprovalEvidence,
  type RequestPhase,
  type VendorTaskStatus,
} from '../../specs/index.ts';
import { gitErrors } from '../git/errors.ts';
import { evaluateApprovals } from '../git/approval.ts';
import { HistoryIndex } from '../git/history.ts';
import { STATUS_DIR } from '../git/paths.ts';
import { checkCommitSignature, parseSshPublicKey, type SignatureCheck } from '../git/signing.ts';
import { parseStatusYaml } from './status-yaml.ts';
import { readObjects } from '../git/tree.ts';
import { ObjectReader } from '../git/object-reader.ts';
import { firstParentChain, historyReader, resolveCommit, walkHistory, type AuditCommit } from './walk.ts';

/**
 * `lethe audit`: what a clone alone proves about each request. Nothing here reads the
 * journal, a vendor or a secret; nothing in the result names or identifies a data subject
 * (request names, commits, approvers' and committers' git identities, vendor job ids).
 */

export interface AuditOptions {
  /** The repository (a clone; bare or not). */
  dir: string;
  /** The commit whose status history is audited (default HEAD). */
  ref?: string;
  /** The protected branch holding the manifests, when status goes to its own branch. */
  branch?: string;
  /** Requests to report on; all when absent. */
  names?: string[];
}

export type Verdict = 'Proven' | 'Unproven';

export interface ManifestChange {
  commit: string;
  path: string;
  author: string;
  date: string;
  change: 'added' | 'modified' | 'deleted';
  merge: boolean;
}

export interface ApprovalFinding {
  /** Evaluated at this protected-branch commit: the one the controller acted on (or the head). */
  at: string;
  mode: ApprovalEvidence['mode'];
  approved: boolean;
  approvers: string[];
  commit?: string;
  approvedAt?: string;
  signed?: boolean;
  /** The commit whose lethe.yaml was the approved policy in force before the approval. */
  policyFrom?: string;
  reason: string;
  /** The same approval under the policy in force at the audited head. */
  validToday: boolean;
  todayReason: string;
}

export interface VendorChange {
  vendor: string;
  phase: VendorTaskStatus['phase'];
  outcome?: string;
  jobIds?: string[];
  evidence?: Record<string, string>;
}

export interface StatusChange {
  commit: string;
  time: string;
  committer: string;
  /** good: signed by the controller key in force; otherwise why the change is not proven. */
  signature: 'good' | 'unsigned' | 'bad' | 'wrong-key' | 'none';
  from?: RequestPhase;
  phase?: RequestPhase;
  vendors: VendorChange[];
  problems: string[];
}

/** A `lethe shred` record (status/epochs/<epoch>.yaml) that names the request. */
export interface ShredFinding {
  epoch: string;
  /** When the record says the epoch's private key was destroyed. */
  shreddedAt: string;
  commit: string;
  committer: string;
  /** good: committed under the controller key in force; anything else proves nothing. */
  signature: StatusChange['signature'];
}

export interface RequestAudit {
  name: string;
  verdict: Verdict;
  reasons: string[];
  notes: string[];
  action?: string;
  regulation?: string;
  receivedAt?: string;
  dueAt?: string;
  phase?: RequestPhase;
  completedAt?: string;
  /** The outcome against the legal due date, in words. */
  outcome: string;
  late: boolean;
  manifest: ManifestChange[];
  approval?: ApprovalFinding;
  status: StatusChange[];
  /** Shred records naming this request: from then on its sealed subject can no longer be read. */
  shredded: ShredFinding[];
}

export interface ChainFinding {
  commit: string;
  reason: string;
}

export interface AuditReport {
  ref: string;
  statusHead: string;
  manifestHead: string;
  /** Committer date of the audited status head: the "as of" of every open request. */
  asOf: string;
  signing: {
    keys: Array<{ fingerprint: string; since: string }>;
    unsignedStatusCommits: number;
    statusCommits: number;
  };
  chain: ChainFinding[];
  config: string[];
  requests: RequestAudit[];
  proven: number;
  unproven: number;
}

const short = (sha: string | undefined): string => (sha ?? '').slice(0, 12);
const STATUS_FILE = /^status\/([^/]+)\.yaml$/;
const SHRED_FILE = /^status\/epochs\/[^/]+\.yaml$/;
const ACTED = new Set<RequestPhase>(['Pending', 'InProgress', 'Completed', 'Failed']);

interface ConfigState {
  config: LetheConfig;
  /** The commit whose lethe.yaml this is. */
  from: string;
}

interface Version {
  commit: AuditCommit;
  pos: number;
  blob: string | null;
  doc?: PrivacyRequestStatus;
}

export async function audit(o: AuditOptions): Promise<AuditReport> {
  const ref = o.ref ?? 'HEAD';
  const wanted = o.names ? new Set(o.names) : undefined;
  // The history is read ONCE: one `git log` (its output also feeds the approval's history
  // index), and one `cat-file --batch` fed while that log runs. Status versions are parsed and
  // signatures verified as their objects arrive, so git and this process work side by side.
  const statusDocs = new Map<string, PrivacyRequestStatus | undefined>();
  const signatures = new Map<string, SignatureCheck>();
  const toParse = new Set<string>();
  const toVerify = new Set<string>();
  const objects = new Map<string, Buffer>();
  const reader = new ObjectReader(o.dir, (id, bytes) => {
    objects.set(id, bytes);
    if (toParse.has(id)) statusDocs.set(id, readStatus(bytes.toString('utf8')));
    if (toVerify.has(id)) signatures.set(id, checkCommitSignature(bytes));
  });
  const request = (c: AuditCommit): void => {
    let status = false;
    for (const [path, blob] of c.changes) {
      if (path === 'lethe.yaml' && blob) reader.request(blob);
      if (!path.startsWith(STATUS_DIR)) continue;
      status = true;
      const name = STATUS_FILE.exec(path)?.[1];
      if (blob && name !== undefined && (!wanted || wanted.has(name))) {
        toParse.add(blob);
        reader.request(blob);
      }
      if (blob && SHRED_FILE.test(path)) reader.request(blob);
    }
    if (status) {
      toVerify.add(c.sha);
      reader.request(c.sha);
    }
  };
  let statusHead: string;
  let commits: Map<string, AuditCommit>;
  try {
    try {
      // A ref git log would read as an option or a range is resolved first (and refused
      // unless it names one commit); a plain one is walked directly.
      const plain = !/^[-^]|\.\.|\^[@!-]/.test(ref);
      const start = plain ? ref : await resolveCommit(o.dir, ref);
      if (!start || !(plain || /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(start)))
        throw gitErrors.error('AUDIT_REF_MISSING', { ref, dir: o.dir });
      commits = await walkHistory(o.dir, [start], { renames: true, onCommit: request });
    } catch (err) {
      if ((err as { code?: string }).code === 'AUDIT_REF_MISSING') throw err;
      // Only now ask git what the ref is: a git process less on every audit that finds it.
      if (!(await resolveCommit(o.dir, ref))) throw gitErrors.error('AUDIT_REF_MISSING', { ref, dir: o.dir });
      throw err;
    }
    // `git log <ref>` prints the commit the ref names first, whatever the dates below it.
    const head = commits.keys().next();
    if (head.done) throw gitErrors.error('AUDIT_REF_MISSING', { ref, dir: o.dir });
    statusHead = head.value;
    await reader.close();
  } finally {
    reader.abort();
  }
  const statusChain = firstParentChain(commits, statusHead);
  const configBlobs = (chain: AuditCommit[]) =>
    chain.flatMap((c) => (c.changes.get('lethe.yaml') ? [c.changes.get('lethe.yaml')!] : []));

  // ---- status versions, per request, along the status branch's first-parent chain
  const statusCommits = statusChain.filter((c) => [...c.changes.keys()].some((p) => p.startsWith(STATUS_DIR)));
  const versions = new Map<string, Version[]>();
  statusCommits.forEach((c, pos) => {
    for (const [path, blob] of c.changes) {
      const m = STATUS_FILE.exec(path);
      if (!m) continue;
      const list = versions.get(m[1]!) ?? [];
      list.push({ commit: c, pos, blob });
      versions.set(m[1]!, list);
    }
  });
  const text = (id: string | null | undefined) => (id ? objects.get(id)?.toString('utf8') : undefined);

  const headConfigBlob = [...statusChain]
    .reverse()
    .find((c) => c.changes.has('lethe.yaml'))
    ?.changes.get('lethe.yaml');
  // Each lethe.yaml version is parsed once: the head's is also one of the approved versions.
  const parsedConfigs = new Map<string, LetheConfig | undefined>();
  const configOf = (blob: string): LetheConfig | undefined => {
    if (!parsedConfigs.has(blob)) parsedConfigs.set(blob, readYamlAs(LetheConfig, text(blob)));
    return parsedConfigs.get(blob);
  };
  const headConfig = headConfigBlob ? configOf(headConfigBlob) : undefined;
  let manifestHead = statusHead;
  const branch = o.branch ?? (headConfig?.spec.statusBranch ? headConfig.spec.approval.protectedBranch : undefined);
  if (branch) {
    const resolved =
      (await resolveCommit(o.dir, `refs/heads/${branch}`)) ??
      (await resolveCommit(o.dir, `refs/remotes/origin/${branch}`)) ??
      (await resolveCommit(o.dir, branch));
    if (!resolved) throw gitErrors.error('AUDIT_REF_MISSING', { ref: `the protected branch ${branch}`, dir: o.dir });
    manifestHead = resolved;
  }
  if (manifestHead !== statusHead) {
    commits = new Map([...commits, ...(await walkHistory(o.dir, [manifestHead, `^${statusHead}`], { renames: true }))]);
  }
  const mainChain = manifestHead === statusHead ? statusChain : firstParentChain(commits, manifestHead);
  const mainIndex = new Map(mainChain.map((c, i) => [c.sha, i]));
  const missingConfigs = configBlobs(mainChain).filter((id) => !objects.has(id));
  for (const [id, bytes] of await readObjects(o.dir, missingConfigs)) objects.set(id, bytes);

  const manifests = manifestHistory(commits);
  const selected = (o.names ?? [...new Set([...versions.keys(), ...manifests.keys()])]).sort();
  for (const name of selected) {
    for (const v of versions.get(name) ?? []) {
      if (!v.blob) continue;
      const doc = statusDocs.has(v.blob) ? statusDocs.get(v.blob) : readStatus(text(v.blob) ?? '');
      if (doc && doc.metadata.name === name) v.doc = doc;
    }
  }

  // ---- the approved lethe.yaml along the protected branch, and each request's approval
  const configNotes: string[] = [];
  const index = new HistoryIndex(o.dir, historyReader(commits));
  const source = { dir: o.dir, history: async (head: string) => (await index.update(head), index) };
  const configAt = await approvedConfigs(configOf, mainChain, source, configNotes);
  const inForce = (sha: string | undefined): ConfigState | undefined =>
    sha === undefined ? undefined : configAt[mainIndex.get(sha) ?? -1];
  const today = configAt[mainChain.length - 1];

  const timeline = new PathTimeline(mainChain, mainIndex);
  const approvalTargets = new Map<string, { path: string; at: string; acted?: Version }>();
  for (const name of selected) {
    const vs = versions.get(name) ?? [];
    const acted = vs.find((v) => v.doc && (ACTED.has(v.doc.status.phase) || v.doc.status.approval?.approved === true));
    const path = manifestPath(name, vs, manifests.get(name) ?? []);
    if (!path) continue;
    const observed = acted?.commit.observed;
    const at =
      acted &&
      observed !== undefined &&
      mainIndex.has(observed) &&
      timeline.blobAt(path, observed) !== timeline.blobAt(path, manifestHead)
        ? observed
        : manifestHead;
    if (acted && (observed === undefined || !mainIndex.has(observed))) continue;
    if (timeline.blobAt(path, at) === null) continue;
    approvalTargets.set(name, { path, at, acted });
  }
  const approvals = await evaluateAll(approvalTargets, mainIndex, source, inForce, today);

  // ---- status commits: signatures and the chain
  const commitProblems = new Map<string, { signature: StatusChange['signature']; problems: string[] }>();
  const chain: ChainFinding[] = [];
  const breaks: number[] = [];
  const keys: Array<{ fingerprint: string; since: string }> = [];
  let unsigned = 0;
  statusCommits.forEach((c, pos) => {
    const problems: string[] = [];
    if (c.parents.length > 1) problems.push('is a merge commit, not a controller status commit');
    const outside = [...c.changes.keys()].filter((p) => !p.startsWith(STATUS_DIR));
    if (outside.length > 0)
      problems.push(
        `also changes ${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ', ...' : ''}, which the controller never does`,
      );
    const config = inForce(c.observed) ?? (manifestHead === statusHead ? inForce(c.parents[0]) : undefined);
    const declared = config?.config.spec.identity.signingKey;
    const check: SignatureCheck = signatures.get(c.sha) ?? checkCommitSignature(objects.get(c.sha) ?? Buffer.alloc(0));
    let signature: StatusChange['signature'];
    if (check.status === 'none') {
      signature = declared ? 'none' : 'unsigned';
      unsigned++;
      problems.push(
        declared
          ? `has no signature, though lethe.yaml declares the controller key ${parseSshPublicKey(declared)?.fingerprint}`
          : 'is not signed: no spec.identity.signingKey was declared (unsigned operation)',
      );
    } else if (check.status !== 'good') {
      signature = 'bad';
      problems.push(`has a signature that does not verify: ${check.detail}`);
    } else {
      const want = declared ? parseSshPublicKey(declared) : undefined;
      if (want && want.blob.equals(check.key.blob)) {
        signature = 'good';
        if (keys.at(-1)?.fingerprint !== want.fingerprint) keys.push({ fingerprint: want.fingerprint, since: c.sha });
      } else {
        signature = 'wrong-key';
        problems.push(
          want
            ? `is signed by ${check.key.fingerprint}, not by the controller key in force ${want.fingerprint}`
            : `is signed by ${check.key.fingerprint}, but no controller key was declared in the approved lethe.yaml${c.observed && !mainIndex.has(c.observed) ? ` (its observed commit ${short(c.observed)} is not on the protected branch)` : ''}`,
        );
      }
    }
    // The chain: each status commit names the one before it.
    const before = statusCommits[pos - 1];
    let link: string | undefined;
    if (c.previous === undefined) {
      if (pos > 0 && signature === 'good') link = 'has no Lethe-Previous-Status trailer';
    } else if (before === undefined || c.previous !== before.sha) {
      link = commits.has(c.previous)
        ? `names ${short(c.previous)} as the previous status commit, but the previous one on this branch is ${before ? short(before.sha) : 'none'}: status commits were reordered or removed`
        : `names ${short(c.previous)} as the previous status commit, which is not in this history: status commits were dropped (force-push) or rewritten`;
    }
    if (link) {
      chain.push({ commit: c.sha, reason: `status commit ${short(c.sha)} (${c.committedAt}) ${link}` });
      breaks.push(pos);
    }
    commitProblems.set(c.sha, { signature, problems });
  });

  // ---- shred records: which requests' subjects became unreadable, and whether the controller said so
  const shredded = new Map<string, ShredFinding[]>();
  for (const c of statusCommits) {
    for (const [path, blob] of c.changes) {
      if (!blob || !SHRED_FILE.test(path)) continue;
      // A record that does not parse proves nothing; its commit's signature and link are checked above.
      const record = readYamlAs(ShredRecord, text(blob));
      for (const r of record?.requests ?? []) {
        const list = shredded.get(r.name) ?? [];
        list.push({
          epoch: record!.epoch,
          shreddedAt: record!.shreddedAt,
          commit: c.sha,
          committer: `${c.committer} <${c.committerEmail}>`,
          signature: commitProblems.get(c.sha)!.signature,
        });
        shredded.set(r.name, list);
      }
    }
  }

  // ---- per request
  const asOf = commits.get(statusHead)!.committedAt;
  const requests = selected.map((name) =>
    auditRequest(
      name,
      versions.get(name) ?? [],
      manifests.get(name) ?? [],
      approvals.get(name),
      shredded.get(name) ?? [],
      commitProblems,
      chain,
      breaks,
      asOf,
    ),
  );
  const proven = requests.filter((r) => r.verdict === 'Proven').length;
  return {
    ref,
    statusHead,
    manifestHead,
    asOf,
    signing: { keys, unsignedStatusCommits: unsigned, statusCommits: statusCommits.length },
    chain,
    config: configNotes,
    requests,
    proven,
    unproven: requests.length - proven,
  };
}

function auditRequest(
  name: string,
  versions: Version[],
  manifest: ManifestChange[],
  approval: ApprovalFinding | undefined,
  shredded: ShredFinding[],
  commitProblems: Map<string, { signature: StatusChange['signature']; problems: string[] }>,
  chain: ChainFinding[],
  breaks: number[],
  asOf: string,
): RequestAudit {
  const reasons: string[] = [];
  const notes: string[] = [];
  const status: StatusChange[] = [];
  let previous: PrivacyRequestStatus | undefined;
  for (const v of versions) {
    const found = commitProblems.get(v.commit.sha)!;
    const problems = [...found.problems];
    if (v.blob === null) problems.push('deletes the status file');
    else if (!v.doc) problems.push('leaves a status file that is not a valid PrivacyRequestStatus for this request');
    const doc = v.doc?.status;
    status.push({
      commit: v.commit.sha,
      time: v.commit.committedAt,
      committer: `${v.commit.committer} <${v.commit.committerEmail}>`,
      signature: found.signature,
      from: previous?.status.phase,
      phase: doc?.phase,
      vendors: doc ? vendorChanges(previous?.status.vendors ?? {}, doc.vendors) : [],
      problems,
    });
    for (const p of problems)
      reasons.push(
        `status/${name}.yaml changed in ${short(v.commit.sha)} (${v.commit.committedAt}) by ${v.commit.committer} <${v.commit.committerEmail}>: ${p}`,
      );
    if (v.doc) previous = v.doc;
  }
  // A break in the chain after this request's first status change: its record may have lost commits.
  const first = versions[0]?.pos;
  chain.forEach((finding, i) => {
    if (first !== undefined && breaks[i]! > first) reasons.push(`status history broken: ${finding.reason}`);
  });
  if (versions.length === 0)
    reasons.push(`no status/${name}.yaml in the status history: the controller never recorded this request`);

  const last = previous?.status;
  const acted = versions.some(
    (v) => v.doc && (ACTED.has(v.doc.status.phase) || v.doc.status.approval?.approved === true),
  );
  if (acted) {
    if (!approval)
      reasons.push(
        'acted on, but the request manifest or the commit the controller read is not on the protected branch: no approval can be shown',
      );
    else if (!approval.approved) reasons.push(`acted on without a valid approval: ${approval.reason}`);
    else if (!approval.validToday)
      notes.push(
        `approval valid under the policy in force then; today's policy would not accept it (${approval.todayReason})`,
      );
  } else if (approval && !approval.approved) {
    notes.push(`not approved: ${approval.reason}; nothing was done for it`);
  }
  for (const [vendor, v] of Object.entries(last?.vendors ?? {})) {
    if (v.phase !== 'Completed') continue;
    if (!v.outcome) reasons.push(`${vendor}: Completed without a recorded outcome`);
    else if (!(v.jobIds?.length || Object.keys(v.evidence ?? {}).length))
      reasons.push(`${vendor}: outcome ${v.outcome} has no recorded vendor job id or evidence`);
  }

  for (const s of shredded) {
    if (s.signature !== 'good')
      notes.push(
        `the shred record of epoch ${s.epoch} in ${short(s.commit)} by ${s.committer} is not signed by the controller key (${s.signature}): it does not show that the key was destroyed`,
      );
  }

  const { outcome, late } = outcomeOf(last, asOf);
  return {
    name,
    verdict: reasons.length === 0 ? 'Proven' : 'Unproven',
    reasons,
    notes,
    action: last?.action,
    regulation: last?.regulation,
    receivedAt: last?.receivedAt,
    dueAt: last?.dueAt,
    phase: last?.phase,
    completedAt: last?.completedAt,
    outcome,
    late,
    manifest,
    approval,
    status,
    shredded,
  };
}

const dayMs = 86_400_000;
const days = (from: string, to: string): number =>
  Math.round((Date.parse(to.slice(0, 10)) - Date.parse(from.slice(0, 10))) / dayMs);

function outcomeOf(s: PrivacyRequestStatus['status'] | undefined, asOf: string): { outcome: string; late: boolean } {
  if (!s) return { outcome: 'no recorded status', late: false };
  if (s.phase === 'Completed' || s.phase === 'Failed') {
    const when = s.completedAt;
    if (!when || !s.dueAt) return { outcome: `${s.phase}`, late: false };
    const d = days(s.dueAt, when);
    return {
      outcome: `${s.phase} on ${when.slice(0, 10)}, ${d > 0 ? `${d} day(s) after` : d === 0 ? 'on' : `${-d} day(s) before`} the due date ${s.dueAt}`,
      late: d > 0,
    };
  }
  if (s.phase === 'Withdrawn') return { outcome: 'Withdrawn', late: false };
  if (!s.dueAt) return { outcome: s.phase, late: false };
  const d = days(s.dueAt, asOf);
  return {
    outcome: `${s.phase} as of ${asOf.slice(0, 10)}; ${d > 0 ? `${d} day(s) past the due date ${s.dueAt}` : `due ${s.dueAt}, in ${-d} day(s)`}`,
    late: d > 0,
  };
}

function vendorChanges(
  before: Record<string, VendorTaskStatus>,
  after: Record<string, VendorTaskStatus>,
): VendorChange[] {
  const out: VendorChange[] = [];
  for (const [vendor, v] of Object.entries(after)) {
    const b = before[vendor];
    if (
      b &&
      b.phase === v.phase &&
      b.outcome === v.outcome &&
      JSON.stringify(b.jobIds) === JSON.stringify(v.jobIds) &&
      JSON.stringify(b.evidence) === JSON.stringify(v.evidence)
    )
      continue;
    out.push({
      vendor,
      phase: v.phase,
      ...(v.outcome ? { outcome: v.outcome } : {}),
      ...(v.jobIds ? { jobIds: v.jobIds } : {}),
      ...(v.evidence ? { evidence: v.evidence } : {}),
    });
  }
  return out;
}

/** Every commit that changed `requests/**\/<name>.yaml`, side-branch commits included. */
function manifestHistory(commits: Map<string, AuditCommit>): Map<string, ManifestChange[]> {
  const out = new Map<string, ManifestChange[]>();
  for (const c of commits.values()) {
    for (const [path, blob] of c.changes) {
      if (!path.startsWith('requests/') || !/\.ya?ml$/.test(path)) continue;
      const name = path.slice(path.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '');
      const list = out.get(name) ?? [];
      if (list.some((m) => m.commit === c.sha)) continue;
      const parentHad = c.parents.length > 0 && blob !== null;
      list.push({
        commit: c.sha,
        path,
        author: `${c.author} <${c.authorEmail}>`,
        date: c.authoredAt,
        change: blob === null ? 'deleted' : parentHad && list.length > 0 ? 'modified' : 'added',
        merge: c.parents.length > 1,
      });
      out.set(name, list);
    }
  }
  for (const list of out.values()) {
    list.sort((a, b) => a.date.localeCompare(b.date));
    // Classify after sorting: the first non-deleting change adds the file.
    let exists = false;
    for (const m of list) {
      if (m.change === 'deleted') exists = false;
      else {
        m.change = exists ? 'modified' : 'added';
        exists = true;
      }
    }
  }
  return out;
}

function manifestPath(name: string, versions: Version[], manifest: ManifestChange[]): string | undefined {
  for (const v of [...versions].reverse()) {
    const source = v.doc?.status.source;
    if (
      source &&
      source.startsWith('requests/') &&
      source.slice(source.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '') === name
    )
      return source;
  }
  return [...manifest].reverse().find((m) => m.change !== 'deleted')?.path ?? manifest.at(-1)?.path;
}

/** For each request path, its blob after each first-parent commit that changed it. */
class PathTimeline {
  private readonly changes = new Map<string, Array<{ at: number; blob: string | null }>>();
  constructor(
    chain: AuditCommit[],
    private readonly position: Map<string, number>,
  ) {
    chain.forEach((c, at) => {
      for (const [path, blob] of c.changes) {
        if (!path.startsWith('requests/')) continue;
        const list = this.changes.get(path) ?? [];
        list.push({ at, blob });
        this.changes.set(path, list);
      }
    });
  }

  /** The blob of `path` at first-parent commit `sha` (null: absent). */
  blobAt(path: string, sha: string): string | null {
    const at = this.position.get(sha) ?? -1;
    let blob: string | null = null;
    for (const change of this.changes.get(path) ?? []) {
      if (change.at > at) break;
      blob = change.blob;
    }
    return blob;
  }
}

function readStatus(text: string): PrivacyRequestStatus | undefined {
  const parsed = PrivacyRequestStatus.safeParse(parseStatusYaml(text));
  return parsed.success ? parsed.data : undefined;
}

/** A YAML file checked against its schema; one that does not parse or fit proves nothing. */
function readYamlAs<T>(schema: z.ZodType<T>, text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(parseYaml(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

type Source = { dir: string; history(head: string): Promise<HistoryIndex> };

/**
 * The approved lethe.yaml in force after each first-parent commit. The first lethe.yaml is the
 * root of trust; every later change counts only if it was approved under the policy in force
 * before it (so a signing key pushed without approval never becomes the controller's key).
 */
async function approvedConfigs(
  configOf: (blob: string) => LetheConfig | undefined,
  chain: AuditCommit[],
  source: Source,
  notes: string[],
): Promise<Array<ConfigState | undefined>> {
  const out: Array<ConfigState | undefined> = [];
  let current: ConfigState | undefined;
  for (const c of chain) {
    const blob = c.changes.get('lethe.yaml');
    if (blob !== undefined) {
      const next = blob === null ? undefined : configOf(blob);
      if (!next)
        notes.push(
          `lethe.yaml in ${short(c.sha)} by ${c.author} <${c.authorEmail}> is ${blob === null ? 'deleted' : 'invalid'}; the previous approved version stays in force`,
        );
      else if (!current) {
        current = { config: next, from: c.sha };
        notes.push(
          `root of trust: lethe.yaml first committed in ${short(c.sha)} by ${c.author} <${c.authorEmail}> (${c.authoredAt})`,
        );
      } else {
        const evidence = (
          await evaluateApprovals(source, ['lethe.yaml'], {
            head: c.sha,
            policy: current.config.spec.approval,
            controllerIdentity: current.config.spec.identity,
          })
        ).get('lethe.yaml')!;
        const keyChanged = next.spec.identity.signingKey !== current.config.spec.identity.signingKey;
        if (evidence.approved) {
          if (keyChanged)
            notes.push(
              `controller signing key changed in ${short(c.sha)} to ${describeKey(next.spec.identity.signingKey)} (approved: ${evidence.reason})`,
            );
          current = { config: next, from: c.sha };
        } else {
          notes.push(
            `lethe.yaml change in ${short(c.sha)}${keyChanged ? ' (signing key)' : ''} is not approved under the policy in force, so it is ignored: ${evidence.reason}`,
          );
        }
      }
    }
    out.push(current);
  }
  return out;
}

const describeKey = (line: string | undefined): string =>
  line ? (parseSshPublicKey(line)?.fingerprint ?? 'an invalid key') : 'none (unsigned)';

async function evaluateAll(
  targets: Map<string, { path: string; at: string }>,
  mainIndex: Map<string, number>,
  source: Source,
  inForce: (sha: string | undefined) => ConfigState | undefined,
  today: ConfigState | undefined,
): Promise<Map<string, ApprovalFinding>> {
  const out = new Map<string, ApprovalFinding>();
  // Heads in branch order, so the history index only ever moves forward.
  const byHead = new Map<string, string[]>();
  for (const [name, t] of targets) {
    const list = byHead.get(t.at);
    if (list) list.push(name);
    else byHead.set(t.at, [name]);
  }
  const heads = [...byHead.keys()].sort((a, b) => mainIndex.get(a)! - mainIndex.get(b)!);
  for (const head of heads) {
    const index = await source.history(head);
    const groups = new Map<ConfigState, string[]>();
    const unknown: string[] = [];
    for (const name of byHead.get(head)!) {
      const intro = index.introduction(targets.get(name)!.path);
      const policyCommit = intro ? index.commit(intro.commit)?.parents[0] : undefined;
      const state = inForce(policyCommit);
      if (!state) unknown.push(name);
      else if (groups.has(state)) groups.get(state)!.push(name);
      else groups.set(state, [name]);
    }
    for (const name of unknown) {
      out.set(name, {
        at: head,
        mode: 'merge',
        approved: false,
        approvers: [],
        reason: 'no approved lethe.yaml was in force when the request arrived',
        validToday: false,
        todayReason: 'n/a',
      });
    }
    for (const [state, names] of groups) {
      const paths = names.map((n) => targets.get(n)!.path);
      const then = await evaluateApprovals(source, paths, {
        head,
        policy: state.config.spec.approval,
        controllerIdentity: state.config.spec.identity,
      });
      // Today's policy is most often the one the requests arrived under: judged once.
      const now =
        today === state
          ? then
          : today
            ? await evaluateApprovals(source, paths, {
                head,
                policy: today.config.spec.approval,
                controllerIdentity: today.config.spec.identity,
              })
            : new Map<string, ApprovalEvidence>();
      for (const name of names) {
        const path = targets.get(name)!.path;
        const e = then.get(path)!;
        const t = now.get(path);
        out.set(name, {
          at: head,
          mode: e.mode,
          approved: e.approved,
          approvers: e.approvers.map((a) => `${a.name} <${a.email}>`),
          ...(e.commit ? { commit: e.commit } : {}),
          ...(e.approvedAt ? { approvedAt: e.approvedAt } : {}),
          ...(e.signed !== undefined ? { signed: e.signed } : {}),
          policyFrom: state.from,
          reason: e.reason,
          validToday: t?.approved ?? false,
          todayReason: t?.reason ?? 'no approved lethe.yaml at the audited head',
        });
      }
    }
  }
  return out;
}
