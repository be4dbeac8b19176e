import type { ErrorTable } from '../errors/types.ts';

/** What can go wrong between the controller and the privacy repository. */
export const GIT_ERRORS = {
  GIT_SOURCE_CONFIG: {
    message: 'the repository source is misconfigured',
    hint: 'Give exactly one of --repo DIR (a local working copy) or --remote URL.',
    terminal: true,
  },
  GIT_NOT_A_REPOSITORY: {
    message: 'the directory is not inside a git repository',
    hint: 'Run the command inside a clone of your privacy repository, pass --repo DIR (a working copy) or --remote URL; create one with git init or git clone.',
    terminal: true,
  },
  GIT_IDENTITY_MISSING: {
    message: 'git does not know who you are, so it cannot commit as you',
    hint: 'Set your identity once: git config --global user.name "Your Name" && git config --global user.email you@example.com (the email your git host knows, so approvers can tell you apart).',
    terminal: true,
  },
  GIT_BRANCH_MISSING: {
    message: 'the branch to reconcile does not exist',
    hint: 'Pass --branch NAME (the branch holding the approved requests) or set approval.protectedBranch in lethe.yaml; a detached commit needs a branch: git checkout -B <name>.',
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
} as const satisfies ErrorTable;
