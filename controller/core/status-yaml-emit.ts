import { Document, stringify } from 'yaml';

/** The options every status file is rendered with: no line folding, no anchors. */
export const STATUS_YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/**
 * `yaml.stringify(value, STATUS_YAML_OPTIONS)`, byte for byte, about ten times faster for
 * the shape a status has: block mappings and sequences of scalars and mappings, single-line
 * strings, safe integers, booleans and null. Rendering 10,000 statuses through the yaml
 * library's document model took about 2.3 s of a cold first pass (test/bench/curve.ts).
 * Anything outside that shape (a multi-line or escaped string, a sequence in a sequence, a
 * key that is not a plain name, undefined) renders the whole document through `yaml` instead,
 * so the output never depends on which path ran; test/unit/status-yaml-emit.property.test.ts
 * holds the two paths to the same bytes over arbitrary values.
 */
export function stringifyStatusYaml(value: unknown): string {
  return fastStatusYaml(value) ?? stringify(value, STATUS_YAML_OPTIONS);
}

/** The fast path alone: undefined where only `yaml` may render the value (exported for tests). */
export function fastStatusYaml(value: unknown): string | undefined {
  if (!isRecord(value) || Object.keys(value).length === 0) return undefined;
  const out: string[] = [];
  return mapLines(value, '', '', out) ? out.join('') : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The mapping's pairs, the first after `first` (a sequence item's "- "), the others after `rest`. */
function mapLines(obj: Record<string, unknown>, first: string, rest: string, out: string[]): boolean {
  let prefix = first;
  for (const key of Object.keys(obj)) {
    if (!isPlainKey(key)) return false;
    if (!valueLines(obj[key], `${prefix}${key}:`, rest, out)) return false;
    prefix = rest;
  }
  return true;
}

/** A pair's value after its `head` ("key:"); `indent` is the key's own indentation. */
function valueLines(v: unknown, head: string, indent: string, out: string[]): boolean {
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${head} []\n`);
      return true;
    }
    out.push(`${head}\n`);
    return seqLines(v, `${indent}  `, out);
  }
  if (isRecord(v)) {
    if (Object.keys(v).length === 0) {
      out.push(`${head} {}\n`);
      return true;
    }
    out.push(`${head}\n`);
    return mapLines(v, `${indent}  `, `${indent}  `, out);
  }
  const s = scalar(v);
  if (s === undefined) return false;
  out.push(`${head} ${s}\n`);
  return true;
}

function seqLines(items: unknown[], indent: string, out: string[]): boolean {
  for (const item of items) {
    if (Array.isArray(item)) return false;
    if (isRecord(item)) {
      if (Object.keys(item).length === 0) out.push(`${indent}- {}\n`);
      else if (!mapLines(item, `${indent}- `, `${indent}  `, out)) return false;
      continue;
    }
    const s = scalar(item);
    if (s === undefined) return false;
    out.push(`${indent}- ${s}\n`);
  }
  return true;
}

/** The tags a plain scalar could be read as instead of a string (null, bool, int, float), from yaml's own schema. */
const OTHER_TYPES = new Document().schema.tags.filter(
  (t) => t.default === true && t.tag !== 'tag:yaml.org,2002:str' && t.test !== undefined,
);
const readsAsOtherType = (s: string): boolean => OTHER_TYPES.some((t) => t.test!.test(s));

/** yaml's rule for a plain scalar it will not write plain (stringifyString.js plainString). */
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Characters that make yaml escape, fold or use a block scalar: control characters, lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const NOT_SIMPLE = /[\x00-\x1f\x7f-\x9f\uD800-\uDFFF]/u;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/;

function isPlainKey(key: string): boolean {
  return PLAIN_KEY.test(key) && !readsAsOtherType(key);
}

/** A scalar as yaml writes it as a block value, or undefined where only yaml itself may say. */
function scalar(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? String(v) : undefined;
  if (typeof v !== 'string' || NOT_SIMPLE.test(v)) return undefined;
  if (!NOT_PLAIN.test(v) && !readsAsOtherType(v)) return v;
  // Quoted: single quotes only when the text has double quotes and no single ones.
  if (v.includes('\\')) return undefined;
  if (v.includes('"') && !v.includes("'")) return `'${v}'`;
  return JSON.stringify(v);
}
