import { parse as parseYaml } from 'yaml';
import { ResourceName } from '../../specs/index.ts';
import type { ApprovedState, PendingChange } from '../git/approved-tree.ts';
import {
  addressesAll,
  manifestKind,
  nameFromPath,
  type ManifestKind,
  type RepositoryModel,
} from '../manifests/index.ts';

/** A pending change as people read it: which manifest, and which fields it would change. */
export interface PendingReport extends PendingChange {
  kind: ManifestKind;
  name: string;
  /** Dotted paths of the fields that differ from the approved version (never their values). */
  fields: string[];
}

const MAX_FIELDS = 8;

/** Leaf paths where `a` and `b` differ; lists count as one value. */
function differingFields(a: unknown, b: unknown, prefix: string, out: string[]): void {
  if (out.length >= MAX_FIELDS) return;
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isMap(a) && isMap(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      differingFields(a[k], b[k], prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(prefix || '(whole file)');
}

function parseLoosely(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return parseYaml(text, { maxAliasCount: 10 });
  } catch {
    return undefined;
  }
}

/**
 * Names each pending change's manifest and the fields it would change. Field paths only:
 * a request's values are personal data, a vendor's may be secrets' locations.
 */
export async function describePending(
  changes: PendingChange[],
  state: Pick<ApprovedState, 'approved' | 'current'>,
  ctx: {
    /** The name the desired state's file at this path declares, if any. */
    nameOf(path: string): string | undefined;
    readBlobs(ids: string[]): Promise<Map<string, string>>;
    /** Per (path, approved blob, branch blob): the name and changed fields, computed once. */
    cache: Map<string, { name: string; fields: string[] }>;
  },
): Promise<PendingReport[]> {
  const pairs = changes.map((c) => {
    const before = state.approved.get(c.path)?.blob;
    const after = state.current.get(c.path);
    return { c, before, after, key: `${c.path}:${before}:${after}` };
  });
  const unknown = pairs.filter(({ key }) => !ctx.cache.has(key));
  const texts = await ctx.readBlobs(
    unknown.flatMap(({ before, after }) => [before, after].filter((b): b is string => b !== undefined)),
  );
  for (const { c, before, after, key } of unknown) {
    const afterDoc = parseLoosely(after === undefined ? undefined : texts.get(after));
    const fields: string[] = [];
    if (c.change === 'edit') differingFields(parseLoosely(texts.get(before!)), afterDoc, '', fields);
    const claimed = (afterDoc as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
    const name =
      ctx.nameOf(c.path) ?? (ResourceName.safeParse(claimed).success ? (claimed as string) : nameFromPath(c.path));
    ctx.cache.set(key, { name, fields });
  }
  return pairs.map(({ c, key }) => ({ ...c, kind: manifestKind(c.path)!, ...ctx.cache.get(key)! }));
}

/** One line per pending change, as the PendingChange condition and the log say it. */
export function pendingSentence(p: PendingReport): string {
  const by = p.commit ? ` in ${p.commit.slice(0, 12)}${p.author ? ` by ${p.author.name}` : ''}` : '';
  const fields = p.fields.length > 0 ? ` (${p.fields.join(', ')})` : '';
  return `unapproved ${p.change} of ${p.path}${fields}${by}; the approved version stays in force`;
}

/**
 * The PendingChange message per affected request: its own file changed, a vendor it uses
 * changed, or a new vendor would join its `vendors: all`.
 */
export function pendingByRequest(pending: PendingReport[], model: RepositoryModel): Map<string, string> {
  const lines = new Map<string, string[]>();
  const add = (name: string, line: string) => lines.set(name, [...(lines.get(name) ?? []), line]);
  const byPath = new Map([...model.requests].map(([name, entry]) => [entry.path, name]));
  for (const p of pending) {
    if (p.kind === 'PrivacyRequest') {
      const name = p.change === 'add' ? undefined : byPath.get(p.path);
      if (name) add(name, pendingSentence(p));
    } else if (p.kind === 'VendorConnection') {
      for (const [name, entry] of model.requests) {
        const uses = p.change === 'add' ? addressesAll(entry) : entry.vendors.includes(p.name);
        if (uses) add(name, pendingSentence(p));
      }
    }
  }
  return new Map([...lines].map(([name, l]) => [name, l.join('; ')]));
}
