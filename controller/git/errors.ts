import type { ErrorTable } from '../errors/types.ts';

/** What can go wrong between the controller and the privacy repository. */
export const GIT_ERRORS = {
  GIT_SOURCE_CONFIG: {
    message: 'the repository source is misconfigured',
    hint: 'Give exactly one of --repo DIR (a local working copy) or --remote URL.',
    terminal: true,
  },
  GIT_BRANCH_MISSING: {
    message: 'the branch to reconcile does not exist',
    hint: 'Check --branch (or approval.protectedBranch in lethe.yaml); a detached commit needs a branch: git checkout -B <name>.',
    terminal: true,
  },
  GIT_FAILED: {
    message: 'a git command failed',
    hint: 'Run the git command shown in the controller log by hand in the data directory clone; check disk space, permissions and the deploy key.',
  },
  GIT_WRITE_OUTSIDE_STATUS: {
    message: 'refused to write outside status/',
    hint: 'A controller bug: Lethe only ever writes status/. Report it with the log line.',
    terminal: true,
  },
  GIT_STATUS_DIRTY: {
    message: 'status/ has uncommitted changes in the working copy',
    hint: 'status/ is written by Lethe only: discard the local edits (git checkout -- status/) and run again.',
  },
  GIT_REBASE_REFUSED: {
    message: 'the controller\'s unpushed commits touch more than status/, so they are not replayed',
    hint: 'Someone committed in the controller\'s own clone: inspect <data dir>/repo and reset it to origin.',
    terminal: true,
  },
  GIT_PUSH_REJECTED: {
    message: 'the status push was rejected repeatedly because people pushed meanwhile',
    hint: 'Nothing is lost: the status commit stays local and the next pass pushes it. Persistent rejection: check branch protection allows the controller to push.',
  },
  GIT_PUSH_FAILED: {
    message: 'the status push failed',
    hint: 'Check the deploy key, network and that branch protection lets the controller identity push (or use statusBranch).',
  },
  GIT_PUSH_NEEDS_PULL: {
    message: 'the remote moved and the branch is checked out in this working copy',
    hint: 'Pull in the working copy; the controller pushes on its next pass.',
  },
  STATUS_SIGNING_KEY_INVALID: {
    message: 'spec.identity.signingKey is not an ssh-ed25519 public key line',
    hint: 'Run `lethe keygen` and paste the line it prints into lethe.yaml under spec.identity.',
    terminal: true,
  },
  STATUS_SIGNING_KEY_MISSING: {
    message: 'lethe.yaml declares a status signing key, but its private key is not in the secrets directory',
    hint: 'Put the private key and its .pub file into the secrets directory (--secrets-dir, LETHE_SECRETS_DIR, $CREDENTIALS_DIRECTORY or <data dir>/secrets), or run `lethe keygen` there and approve the new signingKey. Nothing is written unsigned while a key is declared.',
    terminal: true,
  },
  STATUS_HISTORY_REWRITTEN: {
    message: 'the status branch no longer contains the last status commit the controller pushed (force-push or rewritten history)',
    hint: 'Writing stopped. Find who rewrote the branch (the remote\'s audit log; <data dir>/repo keeps refs/lethe/before-rewrite/<branch>), restore the dropped commits if you can (git push of that ref), then run `lethe audit --all` and, to accept the history as it is, delete <data dir>/status-chain.json. See docs/audit.md.',
    terminal: true,
  },
  AUDIT_REF_MISSING: {
    message: 'the commit to audit does not exist in this clone',
    hint: 'Check --ref (default HEAD) and --repo; fetch the status branch (git fetch origin <statusBranch>) when status goes to its own branch.',
    terminal: true,
  },
} as const satisfies ErrorTable;
