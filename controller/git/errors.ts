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
  TRUST_ROOT_NOT_ON_BRANCH: {
    message: 'the pinned root of trust is not a commit on the branch\'s first-parent history',
    hint: 'Pin a commit of the protected branch itself (git log --first-parent --format=%H <branch>), at least 7 hex digits, with --trust-root or LETHE_TRUST_ROOT.',
    terminal: true,
  },
  TRUST_ROOT_LOST: {
    message: 'the root of trust recorded in the data directory is no longer in the branch\'s history',
    hint: 'Someone rewrote the protected branch (force-push). Nothing is acted on until an operator inspects the history and pins a root again with --trust-root <sha> (the pin replaces trust-root.json in the data directory).',
    terminal: true,
  },
  TRUST_ROOT_MISSING: {
    message: 'no commit on the branch adds lethe.yaml, so there is no root of trust',
    hint: 'Commit lethe.yaml to the protected branch (reviewed), or pin a root with --trust-root <sha>.',
    terminal: true,
  },
  TRUST_ROOT_CONFIG_INVALID: {
    message: 'lethe.yaml at the root of trust is missing or invalid',
    hint: 'Pin a root whose lethe.yaml is valid (lethe validate at that commit) with --trust-root <sha>.',
    terminal: true,
  },
} as const satisfies ErrorTable;
