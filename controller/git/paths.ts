import { gitErrors } from './errors.ts';

export const STATUS_DIR = 'status/';

/** A normalised repository path under status/ (no `..`, no absolute or backslash tricks). */
export function isStatusPath(path: string): boolean {
  if (!path.startsWith(STATUS_DIR) || path.length === STATUS_DIR.length) return false;
  return (
    path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..') && !/[\\\0\n]/.test(path)
  );
}

export function assertStatusPaths(paths: Iterable<string>): void {
  for (const path of paths) {
    if (!isStatusPath(path)) {
      throw gitErrors.error('GIT_WRITE_OUTSIDE_STATUS', { path: JSON.stringify(path) });
    }
  }
}
