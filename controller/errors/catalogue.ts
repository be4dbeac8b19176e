import { CORE_ERRORS } from '../core/errors.ts';
import { EXPORT_ERRORS } from '../exports/store.ts';
import { GIT_ERRORS } from '../git/errors.ts';
import { GITHUB_ERRORS } from '../git/github-review.ts';
import { HTTP_ERRORS } from '../http/errors.ts';
import { driverErrors } from '../vendors/registry.ts';
import { CONDITION_REASONS } from './conditions.ts';
import type { ErrorEntry, ErrorTable } from './types.ts';
import { VALIDATION_ERRORS } from './validation.ts';

/** Every user-facing error code with its message and fix hint, by where it comes from. */
export function catalogue(): Array<{ source: string; table: ErrorTable }> {
  return [
    { source: 'validation', table: VALIDATION_ERRORS },
    { source: 'controller', table: CORE_ERRORS },
    { source: 'git', table: GIT_ERRORS },
    { source: 'github', table: GITHUB_ERRORS },
    { source: 'http', table: HTTP_ERRORS },
    { source: 'exports', table: EXPORT_ERRORS },
    { source: 'vendors', table: driverErrors() },
  ];
}

/** An error code (any case) or a condition reason of a status file (`PastDue`, `pastdue`). */
export function lookup(code: string): (ErrorEntry & { code: string; source: string }) | undefined {
  for (const { source, table } of [...catalogue(), { source: 'condition reason', table: CONDITION_REASONS as ErrorTable }]) {
    const key = code in table ? code : Object.keys(table).find((k) => k.toLowerCase() === code.toLowerCase());
    const entry = key === undefined ? undefined : table[key];
    if (entry) return { ...entry, code: key!, source };
  }
  return undefined;
}
