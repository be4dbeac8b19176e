import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';
import type { ValidationCode } from '../errors/validation.ts';
import type { Position } from './problem.ts';

export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Real manifests need no aliases at all; a small cap keeps expansion attacks harmless. */
export const MAX_ALIAS_COUNT = 100;
/** Keys that can reach Object.prototype once a document becomes a JavaScript object. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type PathSegment = string | number;

/** Where a node's value starts, and for mapping entries where its key starts. */
export interface NodePosition {
  value: Position;
  key?: Position;
}
export type NodeIndex = ReadonlyMap<string, NodePosition>;

export function pathKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path.map(String));
}

export interface SourceIssue {
  code: ValidationCode;
  at: Position;
  values?: Record<string, string | number>;
}

export interface YamlSource {
  /** The document as plain data; undefined when any issue prevents trusting it. */
  data?: unknown;
  index: NodeIndex;
  issues: SourceIssue[];
}

const START: Position = { line: 1, column: 1 };

/**
 * Parses one manifest file defensively: size cap before parsing, forbidden keys found on
 * the syntax tree before any JavaScript object exists, aliases capped during conversion.
 * The node index is built only when `withIndex` (nodeIndex): most files never need a
 * position, and at 10,000 manifests kept indexes were 26 MB.
 */
export function readYaml(text: string, withIndex = true): YamlSource {
  const index = new Map<string, NodePosition>();
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_MANIFEST_BYTES) {
    return { index, issues: [{ code: 'FILE_TOO_LARGE', at: START, values: { limit: MAX_MANIFEST_BYTES } }] };
  }
  const lines = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const docs = Array.from(parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true }));
  const first = docs[0];
  if (first === undefined) return { index, issues: [{ code: 'EMPTY_MANIFEST', at: START }] };

  const issues: SourceIssue[] = [];
  // Only the first syntax error is reliable: the ones after it are mostly its echoes.
  const syntax = docs.flatMap((doc) => [...doc.errors, ...doc.warnings])[0];
  if (syntax) issues.push({ code: 'YAML_SYNTAX', at: at(syntax.pos[0]), values: { detail: syntax.message } });
  const second = docs[1];
  if (second !== undefined) {
    issues.push({ code: 'MULTIPLE_DOCUMENTS', at: at(second.range[0]) });
  }
  if (issues.length > 0) return { index, issues };

  const root = first.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    return { index, issues: [{ code: 'EMPTY_MANIFEST', at: START }] };
  }
  if (!isMap(root)) {
    const found = isSeq(root) ? 'a list' : isAlias(root) ? 'an alias' : 'a single value';
    return { index, issues: [{ code: 'NOT_A_MAPPING', at: nodeStart(root, at), values: { found } }] };
  }

  const firstAlias = indexNodes(root, [], withIndex ? index : undefined, issues, at);
  if (issues.length > 0) return { index, issues };
  try {
    return { data: first.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), index, issues };
  } catch (err) {
    // yaml throws ReferenceError for excessive and for unresolved aliases; both sit at an alias.
    const where = firstAlias ?? START;
    const detail = err instanceof Error ? err.message : String(err);
    const issue: SourceIssue = detail.startsWith('Excessive alias')
      ? { code: 'ALIAS_LIMIT', at: where, values: { limit: MAX_ALIAS_COUNT } }
      : { code: 'YAML_SYNTAX', at: where, values: { detail } };
    return { index, issues: [issue] };
  }
}

function nodeStart(node: Node, at: (offset: number) => Position): Position {
  return node.range ? at(node.range[0]) : START;
}

/**
 * The positions of a file's nodes, for locating a problem: parsed again from the text on
 * demand (a file with problems is rare, a kept index of every file is not).
 */
export function nodeIndex(text: string): NodeIndex {
  return readYaml(text).index;
}

/** Records positions of every node (without following aliases) when given an index, and flags forbidden keys. */
function indexNodes(
  node: Node,
  path: PathSegment[],
  index: Map<string, NodePosition> | undefined,
  issues: SourceIssue[],
  at: (offset: number) => Position,
): Position | undefined {
  let firstAlias: Position | undefined;
  const note = (p: Position | undefined) => {
    if (p && (!firstAlias || p.line < firstAlias.line || (p.line === firstAlias.line && p.column < firstAlias.column)))
      firstAlias = p;
  };
  if (path.length === 0) index?.set(pathKey(path), { value: nodeStart(node, at) });
  if (isAlias(node)) return nodeStart(node, at);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      const key = keyNode && isScalar(keyNode) ? String(keyNode.value) : keyNode ? String(keyNode) : '';
      const keyPos = () => (keyNode ? nodeStart(keyNode, at) : nodeStart(node, at));
      const child = [...path, key];
      if (FORBIDDEN_KEYS.has(key)) {
        issues.push({ code: 'FORBIDDEN_KEY', at: keyPos(), values: { key, path: displayPath(path) } });
        continue;
      }
      const valueNode = pair.value as Node | null;
      if (index) {
        const keyAt = keyPos();
        const valuePos =
          valueNode?.range && !(isScalar(valueNode) && valueNode.value === null) ? nodeStart(valueNode, at) : keyAt;
        index.set(pathKey(child), { value: valuePos, key: keyAt });
      }
      if (valueNode) note(indexNodes(valueNode, child, index, issues, at));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const child = [...path, i];
      const itemNode = item as Node | null;
      index?.set(pathKey(child), { value: itemNode ? nodeStart(itemNode, at) : nodeStart(node, at) });
      if (itemNode) note(indexNodes(itemNode, child, index, issues, at));
    });
  }
  return firstAlias;
}

/** `spec.subject.emails[0]`: how people read paths, and how messages show them. */
export function displayPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(top level)' : out;
}

/** The position of the nearest node on `path` that exists in the file. */
export function locate(index: NodeIndex, path: readonly PathSegment[], which: 'value' | 'key' = 'value'): Position {
  for (let n = path.length; n >= 0; n--) {
    const found = index.get(pathKey(path.slice(0, n)));
    if (found) return (which === 'key' && n === path.length ? found.key : undefined) ?? found.value;
  }
  return START;
}
