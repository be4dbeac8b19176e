/** One entry of the error catalogue: what happened and what the user can do about it. */
export interface ErrorEntry {
  /** A message template; `{name}` placeholders are filled from non-personal details only. */
  message: string;
  hint: string;
  /** Terminal errors cannot be fixed by retrying: the task is Stalled until spec or config change. */
  terminal?: boolean;
}

export type ErrorTable = Record<string, ErrorEntry>;

/**
 * An error carrying a catalogue code. Its message must never contain personal data or
 * secrets: callers build it from codes, vendor names, request names and status numbers.
 */
export class LetheError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: {
      terminal?: boolean;
      retryAfterMs?: number;
      /**
       * `vendor`: the whole connection is unusable (bad or rotated credentials, failed
       * health check): it is marked degraded and all its requests wait, none fails.
       */
      scope?: 'task' | 'vendor';
      /**
       * Whether the vendor may have acted on the call. Only `false` lets the executor
       * forget a journaled intent after an error; anything else means "ask the vendor".
       */
      maybeDelivered?: boolean;
      /**
       * Overrides the classification by code and cause (see core/transient.ts): true for a
       * vendor answer that is worth asking again, false for one that never changes.
       */
      transient?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LetheError';
  }

  get terminal(): boolean {
    return this.options.terminal ?? false;
  }

  get scope(): 'task' | 'vendor' {
    return this.options.scope ?? 'task';
  }

  /** false only when the vendor provably did not act on the call (see the option). */
  get maybeDelivered(): boolean | undefined {
    return this.options.maybeDelivered;
  }
}

/** Fills `{name}` placeholders; unknown ones stay visible. Values must be non-personal. */
export function fillMessage(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** A LetheError from a catalogue entry: its message filled in, `terminal` as the entry says. */
export function errorFrom<T extends ErrorTable>(
  table: T,
  code: keyof T & string,
  details: Readonly<Record<string, string | number>>,
  options: ConstructorParameters<typeof LetheError>[2] = {},
): LetheError {
  const entry = table[code]!;
  return new LetheError(code, fillMessage(entry.message, details), { terminal: entry.terminal ?? false, ...options });
}
