import { LetheConfig, PrivacyRequest, VendorConnection } from '../../specs/index.ts';

/** The manifest kinds people write, with the schema that validates each. */
export const MANIFEST_SCHEMAS = { LetheConfig, VendorConnection, PrivacyRequest } as const;
export type ManifestKind = keyof typeof MANIFEST_SCHEMAS;

/** Where each kind lives, as shown in messages. */
export const KIND_PLACES: Record<ManifestKind, string> = {
  LetheConfig: 'lethe.yaml',
  VendorConnection: 'vendors/',
  PrivacyRequest: 'requests/',
};

/**
 * Which repository paths are manifests (posix, relative to the repository root). `status/`
 * is the controller's own output and is never read as input; everything else is ignored.
 */
export function manifestKind(path: string): ManifestKind | undefined {
  if (path === 'lethe.yaml') return 'LetheConfig';
  if (/^vendors\/[^/]+\.ya?ml$/.test(path)) return 'VendorConnection';
  if (/^requests\/(?:[^/]+\/)*[^/]+\.ya?ml$/.test(path)) return 'PrivacyRequest';
  return undefined;
}

/** `requests/2026/11/2026-11-0042.yaml` -> `2026-11-0042`. */
export function nameFromPath(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '');
}
