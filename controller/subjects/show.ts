import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sealedEpoch } from '../../specs/index.ts';
import { LetheError } from '../errors/types.ts';
import { listManifestPaths, nameFromPath, parseManifest, type Problem } from '../manifests/index.ts';
import { subjectErrors } from './errors.ts';
import { decryptSubject, subjectEpochs, subjectValues } from './sealed.ts';

export type ShowResult =
  | { kind: 'not-found' }
  | { kind: 'invalid'; path: string; problems: Problem[] }
  | { kind: 'shown'; path: string; text: string };

/**
 * What `lethe show` prints: a request of the working tree with its subject decrypted by the
 * approver's own identities. The text is returned for the terminal only; nothing is written.
 */
export async function showRequest(repo: string, request: string, identities: string[]): Promise<ShowResult> {
  const paths = await listManifestPaths(repo);
  const path = paths.find((p) => p === request || nameFromPath(p) === request);
  if (!path) return { kind: 'not-found' };
  const parsed = parseManifest(path, await readFile(join(repo, path), 'utf8'));
  if (parsed.kind !== 'PrivacyRequest' || !parsed.value) return { kind: 'invalid', path, problems: parsed.problems };
  const { spec, metadata } = parsed.value;
  const epochs = subjectEpochs(spec.subject);
  let opened;
  try {
    opened = await decryptSubject(metadata.name, spec.subject, async () => identities);
  } catch (err) {
    if (err instanceof LetheError && err.code === 'SUBJECT_UNREADABLE') {
      throw subjectErrors.error('IDENTITY_CANNOT_OPEN', { request: metadata.name, epoch: epochs.join(', ') });
    }
    throw err;
  }
  const sealed = new Set(
    subjectValues(spec.subject)
      .filter((v) => sealedEpoch(v.value) !== undefined)
      .map((v) => v.path.join('.')),
  );
  const mark = (path: Array<string | number>) => (sealed.has(path.join('.')) ? '' : '  (plain in the repository)');
  const lines = [
    `${metadata.name} (${path}): ${spec.action}, ${spec.regulation}, received ${spec.receivedAt}` +
      (epochs.length > 0 ? `, sealed to epoch ${epochs.join(', ')}` : ', not encrypted'),
    '  emails:',
    ...opened.emails.map((e, i) => `    ${e}${mark(['spec', 'subject', 'emails', i])}`),
  ];
  const ids = Object.entries(opened.identifiers ?? {});
  if (ids.length > 0) {
    lines.push('  identifiers:');
    for (const [vendor, keys] of ids) {
      for (const [k, v] of Object.entries(keys))
        lines.push(`    ${vendor}.${k}: ${v}${mark(['spec', 'subject', 'identifiers', vendor, k])}`);
    }
  }
  lines.push(
    `  vendors: ${spec.vendors === 'all' ? 'all' : spec.vendors.join(', ')}`,
    `  justification: ${spec.justification}`,
  );
  return { kind: 'shown', path, text: lines.join('\n') + '\n' };
}
