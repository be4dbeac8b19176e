import { CORE_ERRORS } from '../core/errors.ts';
import { EXPORT_ERRORS } from '../exports/store.ts';
import { GIT_ERRORS } from '../git/errors.ts';
import { HTTP_ERRORS } from '../http/errors.ts';
import { STATE_ERRORS } from '../../state/files.ts';
import { driverErrors } from '../vendors/registry.ts';
import type { ErrorEntry, ErrorTable } from './types.ts';
import { VALIDATION_ERRORS } from './validation.ts';

/** Every user-facing error code with its message and fix hint, by where it comes from. */
export function catalogue(): Array<{ source: string; table: ErrorTable }> {
  return [
    { source: 'validation', table: VALIDATION_ERRORS },
    { source: 'controller', table: CORE_ERRORS },
    { source: 'git', table: GIT_ERRORS },
    { source: 'http', table: HTTP_ERRORS },
    { source: 'data directory', table: STATE_ERRORS },
    { source: 'exports', table: EXPORT_ERRORS },
    { source: 'vendors', table: driverErrors() },
  ];
}

export function lookup(code: string): (ErrorEntry & { code: string; source: string }) | undefined {
  for (const { source, table } of catalogue()) {
    const entry = table[code];
    if (entry) return { ...entry, code, source };
  }
  return undefined;
}
