import { coreErrors } from '../core/errors.ts';
import { exportErrors } from '../exports/store.ts';
import { gitErrors } from '../git/errors.ts';
import { httpErrors } from '../http/errors.ts';
import { stateErrors } from '../../state/files.ts';
import { subjectErrors } from '../subjects/errors.ts';
import { driverErrors } from '../vendors/registry.ts';
import { CONDITION_REASONS } from './conditions.ts';
import type { ErrorEntry, ErrorTable } from './types.ts';
import { validationErrors } from './validation.ts';

/** Every user-facing error code with its message and fix hint, by where it comes from. */
export function catalogue(): Array<{ source: string; table: ErrorTable }> {
  return [
    { source: 'validation', table: validationErrors.table },
    { source: 'controller', table: coreErrors.table },
    { source: 'git', table: gitErrors.table },
    { source: 'http', table: httpErrors.table },
    { source: 'data directory', table: stateErrors.table },
    { source: 'exports', table: exportErrors.table },
    { source: 'subjects', table: subjectErrors.table },
    { source: 'vendors', table: driverErrors() },
  ];
}

/** An error code (any case) or a condition reason of a status file (`PastDue`, `pastdue`). */
export function lookup(code: string): (ErrorEntry & { code: string; source: string }) | undefined {
  for (const { source, table } of [
    ...catalogue(),
    { source: 'condition reason', table: CONDITION_REASONS as ErrorTable },
  ]) {
    const key = code in table ? code : Object.keys(table).find((k) => k.toLowerCase() === code.toLowerCase());
    const entry = key === undefined ? undefined : table[key];
    if (entry) return { ...entry, code: key!, source };
  }
  return undefined;
}
