import { STATUS_DIR } from '../git/paths.ts';
import { checkCommitSignature, parseSshPublicKey } from '../git/signing.ts';
import { readObjects } from '../git/tree.ts';
import { walkHistory } from './walk.ts';

const STATUS_FILE = /^status\/([^/]+)\.yaml$/;

/**
 * Which status files at `head` a journal rebuild may believe: those whose current version was
 * written by a commit signed with the controller key `signingKey`, with the chain of status
 * commits unbroken from that commit to the head. Anything else (a hand edit, a commit under
 * the controller's name without its signature, a version after which commits were dropped)
 * could claim a vendor job that never existed, or hide one that did.
 */
export async function provenStatusFiles(
  dir: string,
  head: string,
  signingKey: string,
): Promise<{ proven: Set<string>; refused: Map<string, string> }> {
  const key = parseSshPublicKey(signingKey);
  // Newest first, along the first-parent chain, only the commits that changed status/.
  const commits = [...(await walkHistory(dir, [head], { firstParent: true, paths: [STATUS_DIR] })).values()];
  const raw = await readObjects(
    dir,
    commits.map((c) => c.sha),
  );
  const proven = new Set<string>();
  const refused = new Map<string, string>();
  let chainIntact = true;
  commits.forEach((c, i) => {
    const check = checkCommitSignature(raw.get(c.sha) ?? Buffer.alloc(0));
    const good = key !== undefined && check.status === 'good' && check.key.blob.equals(key.blob);
    const why = !good
      ? `its last change ${c.sha.slice(0, 12)} is not signed by the controller key`
      : !chainIntact
        ? `status commits after ${c.sha.slice(0, 12)} do not chain back to it (history rewritten)`
        : undefined;
    for (const path of c.changes.keys()) {
      const name = STATUS_FILE.exec(path)?.[1];
      if (!name || proven.has(name) || refused.has(name)) continue;
      if (why) refused.set(name, why);
      else proven.add(name);
    }
    // Only the controller's own commits vouch for their predecessor; a hand edit is refused above.
    const older = commits[i + 1];
    if (good && older !== undefined && c.previous !== older.sha) chainIntact = false;
  });
  return { proven, refused };
}
