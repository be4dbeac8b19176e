/** One entry of the error catalogue: what happened and what the user can do about it. */
export interface ErrorEntry {
  /** A message template; `{name}` placeholders are filled from non-personal details only. */
  message: string;
  hint: string;
  /** Terminal errors cannot be fixed by retrying: the task is Stalled until spec or config change. */
  terminal?: boolean;
}

export type ErrorTable = Record<string, ErrorEntry>;
