import type { ErrorTable } from './types.ts';

/**
 * The `reason` of each status condition, for `lethe explain`: a status file says
 * `reason: PastDue`, and the reader asks what it means and what to do about it.
 */
export const CONDITION_REASONS = {
  Approved: {
    message: "Approved=True: the request's current content was approved under the policy in lethe.yaml.",
    hint: 'Nothing to do; approval.reason says by whom and in which commit.',
  },
  NotApproved: {
    message:
      'Approved=False: the current content has no approval the policy accepts (wrong merger, self-approval, squash merge in merge mode, an edit after approval...).',
    hint: 'Read the condition message or lethe status --explain NAME: it says who merged and why it did not count. A listed approver who did not author the change merges (or approves the pull request in github-review mode).',
  },
  NotEvaluated: {
    message: 'Approved=Unknown: approval was not evaluated yet.',
    hint: 'Wait for the next pass; if it persists, check the controller log.',
  },
  Invalid: {
    message: 'The manifest has errors, so it is neither approved nor sent anywhere.',
    hint: 'status.errors lists them with file:line:col; lethe validate shows them with hints.',
  },
  AwaitingApproval: {
    message: 'Ready=False: waiting for an approval the policy accepts.',
    hint: 'See the Approved condition for why.',
  },
  Pending: {
    message: 'Ready=False: approved; no vendor work has started yet.',
    hint: 'Work starts in the next passes, earliest due date first; a vendor may be degraded, busy with the same subject or outside its schedule window (lethe status --explain NAME).',
  },
  InProgress: {
    message: 'Ready=False: vendor work has started and is not final everywhere.',
    hint: "Each vendor's phase and step in the status file says where it stands.",
  },
  Completed: { message: 'Ready=True: every vendor task is final and none failed.', hint: 'Nothing to do.' },
  Failed: {
    message: 'Ready=False: every vendor task is final and at least one failed.',
    hint: 'vendors.<name>.lastError has the code; lethe explain CODE says how to fix it, then edit the request (re-approval) to retry.',
  },
  Withdrawn: {
    message: 'The manifest was removed; work already started is finished or cancelled.',
    hint: 'Nothing to do.',
  },
  WithinDeadline: { message: 'Overdue=False: open and not past its due date.', hint: 'Nothing to do yet.' },
  PastDue: {
    message: 'Overdue=True: still open after its legal due date.',
    hint: 'Unblock it now (approval, stalled vendors); record an extension in spec.extension if one was granted and the subject told.',
  },
  CompletedOnTime: { message: 'Overdue=False: completed on or before its due date.', hint: 'Nothing to do.' },
  CompletedLate: {
    message: 'Overdue=True: completed after its due date.',
    hint: 'Document the delay for the regulator; the status history shows where the time went.',
  },
  TerminalError: {
    message: 'Stalled=True: a vendor task hit an error no retry can fix.',
    hint: 'The condition message names vendor: CODE; lethe explain CODE gives the fix. The task resumes when the request or the vendor connection changes.',
  },
  NoTerminalError: { message: 'Stalled=False: no vendor task needs a person.', hint: 'Nothing to do.' },
} as const satisfies ErrorTable;
