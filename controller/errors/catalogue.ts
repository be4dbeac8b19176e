import { coreErrors } from '../core/errors.ts';
import { exportErrors } from '../exports/store.ts';
import { gitErrors } from '../git/errors.ts';
import { httpErrors } from '../http/errors.ts';
import { subjectErrors } from '../subjects/errors.ts';
import { driverErrors } from '../vendors/registry.ts';
import type { ErrorEntry, ErrorTable } from './types.ts';
import { validationErrors } from './validation.ts';

/** Every user-facing error code with its message and fix hint, by where it comes from. */
export function catalogue(): Array<{ source: string; table: ErrorTable }> {
  return [
    { source: 'validation', table: validationErrors.table },
    { source: 'controller', table: coreErrors.table },
    { source: 'git', table: gitErrors.table },
    { source: 'http', table: httpErrors.table },
    { source: 'exports', table: exportErrors.table },
    { source: 'subjects', table: subjectErrors.table },
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
