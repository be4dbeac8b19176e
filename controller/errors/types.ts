import type { ErrorTable } from '../contracts/errors.ts';

export type { ErrorEntry, ErrorTable } from '../contracts/errors.ts';

export interface LetheErrorOptions {
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
}

/**
 * An error carrying a catalogue code. Its message must never contain personal data or
 * secrets: callers build it from codes, vendor names, request names and status numbers.
 */
export class LetheError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: LetheErrorOptions = {},
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

/** Non-personal values for a template's `{name}` placeholders: codes, names, numbers, paths. */
export type ErrorDetails = Readonly<Record<string, string | number>>;

/** One module's error codes and the one way to raise them. */
export interface ErrorSet<T extends ErrorTable> {
  /** The entries, for the catalogue, `lethe explain` and docs/reference/errors.md. */
  readonly table: T;
  /** The entry's message template filled from `details`. */
  message(code: keyof T & string, details?: ErrorDetails): string;
  /** The entry's fix hint, its placeholders filled the same way. */
  hint(code: keyof T & string, details?: ErrorDetails): string;
  /**
   * A LetheError with the filled message and `terminal` exactly as the entry says, so a
   * throw site cannot raise a terminal code as retryable (or the reverse).
   */
  error(code: keyof T & string, details?: ErrorDetails, options?: Omit<LetheErrorOptions, 'terminal'>): LetheError;
  /** Whether the entry marks the code terminal (for subclasses such as HttpError). */
  terminal(code: keyof T & string): boolean;
}

/** Declares a module's error table (message template, fix hint, terminal flag per code). */
export function defineErrors<const T extends ErrorTable>(table: T): ErrorSet<T> {
  const message = (code: keyof T & string, details: ErrorDetails = {}): string =>
    fillMessage(table[code]!.message, details);
  const terminal = (code: keyof T & string): boolean => table[code]!.terminal ?? false;
  return {
    table,
    message,
    hint: (code, details = {}) => fillMessage(table[code]!.hint, details),
    terminal,
    error: (code, details = {}, options = {}) =>
      new LetheError(code, message(code, details), { ...options, terminal: terminal(code) }),
  };
}
