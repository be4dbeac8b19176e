import { parse as parseYaml } from 'yaml';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import type { GitSource } from '../git/source.ts';
import { manifestKind, nameFromPath } from '../manifests/index.ts';
import type { EpochRequest } from './shred.ts';

/**
 * The requests whose subject is sealed to `epoch`, from the committed repository: request
 * files on the protected branch that hold a value `age:<epoch>:` (valid or not), and status
 * files that record the epoch (withdrawn requests are gone from requests/ but not from
 * status/). Each with its committed status, when there is one.
 */
export async function epochRequests(source: GitSource, epoch: string): Promise<EpochRequest[]> {
  const head = await source.sync();
  const statusHead = (await source.statusHead()) ?? head;
  const requestPaths = await source.listFiles(head, (p) => manifestKind(p) === 'PrivacyRequest');
  const marker = `age:${epoch}:`;
  const names = new Set<string>();
  for (const [path, text] of await source.readFiles(head, requestPaths))
    if (text.includes(marker)) names.add(nameFromPath(path));

  const statuses = new Map<string, PrivacyRequestStatus['status']>();
  const statusPaths = await source.listFiles(statusHead, (p) => /^status\/[^/]+\.yaml$/.test(p));
  for (const [, text] of await source.readFiles(statusHead, statusPaths)) {
    const doc = PrivacyRequestStatus.safeParse(parseYaml(text));
    if (!doc.success) continue;
    statuses.set(doc.data.metadata.name, doc.data.status);
    if (doc.data.status.subjectEpoch === epoch) names.add(doc.data.metadata.name);
  }
  return [...names].sort().map((name) => ({ name, status: statuses.get(name) }));
}
