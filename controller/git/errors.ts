import { defineErrors } from '../errors/types.ts';

/** What can go wrong between the controller and the privacy repository. */
export const gitErrors = defineErrors({
  GIT_SOURCE_CONFIG: {
    message:
      'the repository source is misconfigured: give exactly one of repo (a local working copy) or remote (a URL)',
    hint: 'Give exactly one of --repo DIR (a local working copy) or --remote URL.',
    terminal: true,
  },
  GIT_NOT_A_REPOSITORY: {
    message: '{dir} is not inside a git repository',
    hint: 'Run the command inside a clone of your privacy repository, pass --repo DIR (a working copy) or --remote URL; create one with git init or git clone.',
    terminal: true,
  },
  GIT_IDENTITY_MISSING: {
    message: 'git does not know who you are, so it cannot commit as you',
    hint: 'Set your identity once: git config --global user.name "Your Name" && git config --global user.email you@example.com (the email your git host knows, so approvers can tell you apart).',
    terminal: true,
  },
  GIT_BRANCH_MISSING: {
    message:
      'branch {branch} does not exist in {where}; {branches}. Pass --branch NAME, or set approval.protectedBranch in lethe.yaml',
    hint: 'Pass --branch NAME (the branch holding the approved requests) or set approval.protectedBranch in lethe.yaml; a detached commit needs a branch: git checkout -B <name>.',
    terminal: true,
  },
  GITHUB_API_ERROR: {
    message: 'the GitHub API could not be read ({detail}); approval was not decided',
    hint: 'Nothing is approved on an error: the request waits and the decision is retried every pass. Check the token (approval.github.token), its scopes (pull requests and contents: read) and https://www.githubstatus.com.',
  },
  GIT_FAILED: {
    message: 'git {command} failed: {reason}',
    hint: 'Run the git command shown in the controller log by hand in the data directory clone; check disk space, permissions and the deploy key.',
  },
  GIT_WRITE_OUTSIDE_STATUS: {
    message: 'refusing to write {path}: the controller only writes under status/',
    hint: 'A controller bug: Lethe only ever writes status/. Report it with the log line.',
    terminal: true,
  },
  GIT_STATUS_DIRTY: {
    message:
      'status/ has uncommitted changes in {dir}; the controller writes nothing until they are committed or discarded',
    hint: 'status/ is written by Lethe only: discard the local edits (git checkout -- status/) and run again.',
  },
  GIT_REBASE_REFUSED: {
    message: 'local commit {sha} is not replayed: {reason}',
    hint: "Someone committed in the controller's own clone: inspect <data dir>/repo and reset it to origin.",
    terminal: true,
  },
  GIT_PUSH_REJECTED: {
    message: 'push of {branch} was rejected {attempts} time(s): the remote moved',
    hint: 'Nothing is lost: the status commit stays local and the next pass pushes it. Persistent rejection: check branch protection allows the controller to push.',
  },
  GIT_PUSH_FAILED: {
    message: 'push of {branch} failed: {reason}',
    hint: 'Check the deploy key, network and that branch protection lets the controller identity push (or use statusBranch).',
  },
  GIT_PUSH_NEEDS_PULL: {
    message: 'origin/{branch} moved and {branch} is checked out here: pull, then the controller pushes next pass',
    hint: 'Pull in the working copy; the controller pushes on its next pass.',
  },
  STATUS_SIGNING_KEY_INVALID: {
    message: 'spec.identity.signingKey is not an "ssh-ed25519 AAAA..." public key line',
    hint: 'Run `lethe keygen` and paste the line it prints into lethe.yaml under spec.identity.',
    terminal: true,
  },
  STATUS_SIGNING_KEY_MISSING: {
    message: 'no private key for the declared signingKey {fingerprint} in the secrets directory {dir}',
    hint: 'Put the private key and its .pub file into the secrets directory (--secrets-dir, LETHE_SECRETS_DIR, $CREDENTIALS_DIRECTORY or <data dir>/secrets), or run `lethe keygen` there and approve the new signingKey. Nothing is written unsigned while a key is declared.',
    terminal: true,
  },
  STATUS_HISTORY_REWRITTEN: {
    message:
      'the last status commit this controller pushed ({missing}) is no longer on {branch}: force-push or rewritten history; status writing stopped',
    hint: "Find who rewrote the branch (the git host's audit log; <data dir>/repo keeps refs/lethe/before-rewrite/<branch>), restore the dropped commits if you can (push that ref), then run `lethe audit --all` and, to accept the history as it is, delete <data dir>/status-chain.json. See docs/audit.md.",
    terminal: true,
  },
  AUDIT_REF_MISSING: {
    message: '{ref} is not a commit in {dir}',
    hint: 'Check --ref (default HEAD), --branch and --repo; fetch the status branch (git fetch origin <statusBranch>) when status goes to its own branch.',
  },
  TRUST_ROOT_NOT_ON_BRANCH: {
    message: 'the pinned root of trust {root} is not a commit on the first-parent history of {branch}',
    hint: 'Pin a commit of the protected branch itself (git log --first-parent --format=%H <branch>), at least 7 hex digits, with --trust-root or LETHE_TRUST_ROOT.',
    terminal: true,
  },
  TRUST_ROOT_LOST: {
    message:
      'the root of trust {root} recorded in {file} is no longer in the history of {branch} (history rewritten?): nothing is acted on',
    hint: 'Someone rewrote the protected branch (force-push). Nothing is acted on until an operator inspects the history and pins a root again with --trust-root <sha> (the pin replaces trust-root.json in the data directory).',
    terminal: true,
  },
  TRUST_ROOT_MISSING: {
    message: 'no commit on {branch} adds lethe.yaml: there is no root of trust',
    hint: 'Commit lethe.yaml to the protected branch (reviewed), or pin a root with --trust-root <sha>.',
    terminal: true,
  },
  TRUST_ROOT_CONFIG_INVALID: {
    message: 'lethe.yaml at the root of trust {root} is missing or invalid: there is no approval policy to start from',
    hint: 'Pin a root whose lethe.yaml is valid (lethe validate at that commit) with --trust-root <sha>.',
    terminal: true,
  },
});
