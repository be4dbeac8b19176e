/**
 * The demo seals its requests (issue 21): a controller key of one epoch in the data
 * directory's secrets, a DPO key as a reviewer of that epoch, lethe.yaml requiring
 * encryption, and each request's subject sealed before it is first committed, so no
 * subject email is ever in the scratch repository's history.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { SubjectsPolicy } from '../../specs/index.ts';
import { createEpochKey } from '../../controller/subjects/keys.ts';
import { sealRequestText } from '../../controller/subjects/seal-text.ts';
import { EXAMPLE_REPO } from './scratch-repo.ts';

export const DEMO_EPOCH = '2026Q4';

export interface DemoSealing {
  /** The DPO's own age identity file (as on the DPO's laptop), for `lethe show`. */
  dpoIdentityFile: string;
  rewriteConfig(text: string): string;
  rewriteRequest(name: string, text: string): string;
}

export async function prepareSealing(o: {
  secretsDir: string;
  root: string;
  rewrite(name: string, text: string): string;
}): Promise<DemoSealing> {
  const { recipient } = await createEpochKey(o.secretsDir, DEMO_EPOCH);
  const dpo = await generateX25519Identity();
  const dpoIdentityFile = join(o.root, 'dpo-age-identity.txt');
  await writeFile(dpoIdentityFile, `# the DPO's age key (reviewer of epoch ${DEMO_EPOCH})\n${dpo}\n`, { mode: 0o600 });
  const epoch = {
    id: DEMO_EPOCH,
    recipient,
    reviewers: [{ name: 'Data Protection Officer', recipient: await identityToRecipient(dpo) }],
  };
  const policy = SubjectsPolicy.parse({ requireEncryption: true, epochs: [epoch] });
  const dir = join(EXAMPLE_REPO, 'requests', '2026', '11');
  const sealed = new Map<string, string>();
  for (const f of await readdir(dir)) {
    const name = basename(f, '.yaml');
    sealed.set(name, await sealRequestText(o.rewrite(name, await readFile(join(dir, f), 'utf8')), policy));
  }
  const block = [
    '  subjects:',
    '    requireEncryption: true',
    '    epochs:',
    `      - id: ${DEMO_EPOCH}`,
    `        recipient: ${recipient}`,
    '        reviewers:',
    '          - name: Data Protection Officer',
    `            recipient: ${epoch.reviewers[0]!.recipient}`,
  ].join('\n');
  return {
    dpoIdentityFile,
    rewriteConfig: (text) => `${text.trimEnd()}\n${block}\n`,
    rewriteRequest: (name, text) => sealed.get(name) ?? text,
  };
}
