import type { z } from 'zod';
import {
  CredentialRef,
  IsoDate,
  ResourceName,
  type LetheConfig,
  type PrivacyRequest,
  type VendorConnection,
} from '../../specs/index.ts';
import type { ValidationCode } from '../errors/validation.ts';
import { KIND_PLACES, MANIFEST_SCHEMAS, manifestKind, nameFromPath, type ManifestKind } from './kinds.ts';
import { problem, type Problem } from './problem.ts';
import { allowedKeys, isSchema, leafSchema, requiredKeys, valueAt } from './schema-walk.ts';
import { closest } from './suggest.ts';
import { displayPath, locate, nodeIndex, readYaml, type NodeIndex, type PathSegment } from './yaml-source.ts';
import type { Position } from './problem.ts';

interface ManifestValues {
  LetheConfig: LetheConfig;
  VendorConnection: VendorConnection;
  PrivacyRequest: PrivacyRequest;
}

/**
 * One file's parse result. Pure data plus the source text, so the controller can cache it
 * per path and re-run only the cross-checks when other files change; a cross-check that
 * finds a problem locates it from the text (manifestLocator), no index is kept.
 */
export type ParsedManifest = {
  [K in ManifestKind]: {
    path: string;
    kind: K;
    /** metadata.name, when it is a well-formed name (even if the rest of the file is not). */
    name?: string;
    /** The validated manifest: present only when the file has no problems. */
    value?: ManifestValues[K];
    problems: Problem[];
    /** The file as read, for locating cross-check problems (manifestLocator). */
    text: string;
  };
}[ManifestKind];

export function parseManifest(path: string, text: string): ParsedManifest {
  const kind = manifestKind(path);
  if (kind === undefined) throw new Error(`${path} is not a manifest path (see manifestKind)`);
  const source = readYaml(text, false);
  let index: NodeIndex | undefined;
  // Only a file with a problem is parsed again for positions.
  const where = (): NodeIndex => (index ??= nodeIndex(text));
  const problems = source.issues.map((i) => problem(i.code, path, i.at, i.values));
  const data = source.data;
  const nameResult = ResourceName.safeParse(valueAt(data, ['metadata', 'name']));
  const name = nameResult.success ? nameResult.data : undefined;
  const finish = (value?: unknown): ParsedManifest => {
    const named = name === undefined ? problems : problems.map((p) => ({ ...p, name }));
    return {
      path,
      kind,
      name,
      value: named.length === 0 ? value : undefined,
      problems: named,
      text,
    } as ParsedManifest;
  };
  if (data === undefined) return finish();

  const declaredKind = valueAt(data, ['kind']);
  if (typeof declaredKind === 'string' && declaredKind !== kind) {
    problems.push(problem('WRONG_KIND', path, locate(where(), ['kind']), { expected: kind, place: KIND_PLACES[kind] }));
    return finish();
  }
  const schema: z.ZodType = MANIFEST_SCHEMAS[kind];
  const result = schema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...fromIssue(issue, schema, data, path, where()));
    return finish();
  }
  if (kind !== 'LetheConfig' && name !== undefined && name !== nameFromPath(path)) {
    problems.push(
      problem('NAME_MISMATCH', path, locate(where(), ['metadata', 'name']), {
        name,
        expected: nameFromPath(path),
      }),
    );
  }
  return finish(result.data);
}

/** Maps one zod issue to located problems; the detail text is zod's (the schemas own the wording). */
function fromIssue(
  issue: z.core.$ZodIssue,
  schema: z.ZodType,
  data: unknown,
  file: string,
  index: NodeIndex,
): Problem[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  const shown = displayPath(path);
  const value = valueAt(data, path);
  const detail = redact(issue.message, value);
  const at = locate(index, path);

  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(schema, path, data);
    return issue.keys.map((key) => {
      const p = problem('UNKNOWN_FIELD', file, locate(index, [...path, key], 'key'), {
        path: displayPath([...path, key]),
        key,
      });
      const guess = closest(key, allowed);
      return guess === undefined ? p : { ...p, hint: `did you mean "${guess}"? ${p.hint}` };
    });
  }
  const parent = valueAt(data, path.slice(0, -1));
  const missing =
    value === undefined &&
    path.length > 0 &&
    typeof parent === 'object' &&
    parent !== null &&
    !Object.hasOwn(parent, String(path.at(-1)));
  if (missing) return [problem('MISSING_FIELD', file, locate(index, path.slice(0, -1)), { path: shown })];
  // `subject:` with nothing under it is null to YAML: what is missing is the fields, not "an object".
  if (value === null && issue.code === 'invalid_type' && issue.expected === 'object') {
    const required = requiredKeys(schema, path, data);
    if (required.length > 0)
      return required.map((key) => problem('MISSING_FIELD', file, at, { path: displayPath([...path, key]) }));
  }

  const leaf = leafSchema(schema, path, data);
  if (isSchema(leaf, IsoDate))
    return [
      problem('INVALID_DATE', file, at, {
        path: shown,
        detail:
          issue.code === 'invalid_type' ? typeDetail('a date written as a quoted string "YYYY-MM-DD"', value) : detail,
      }),
    ];
  if (isSchema(leaf, CredentialRef) && typeof value === 'string') {
    // A well-formed reference refused for what it names (LETHE_*, outside the secrets
    // directory) is no typo: its own refusal is reported below.
    const fixed = referenceTypo(value);
    if (fixed !== undefined && fixed !== value)
      return [problem('CREDENTIAL_REF_MALFORMED', file, at, { path: shown, fixed })];
  }
  if (isSchema(leaf, ResourceName) && issue.code === 'invalid_format' && typeof value === 'string') {
    const p = problem('INVALID_FORMAT', file, at, { path: shown, detail });
    const guess = value
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
    return [
      guess !== '' && ResourceName.safeParse(guess).success
        ? { ...p, hint: `did you mean "${guess}"? Names are lowercase. ${p.hint}` }
        : p,
    ];
  }

  let code: ValidationCode;
  switch (issue.code) {
    case 'invalid_type': {
      const p = problem('INVALID_TYPE', file, at, {
        path: shown,
        detail: typeDetail(EXPECTED[issue.expected] ?? issue.expected, value),
      });
      return [issue.expected === 'array' && typeof value === 'string' ? { ...p, hint: listHint(path.at(-1)) } : p];
    }
    case 'invalid_value':
      code = path.length === 1 && path[0] === 'apiVersion' ? 'WRONG_API_VERSION' : 'INVALID_VALUE';
      break;
    case 'invalid_union':
      code = 'discriminator' in issue && issue.discriminator !== undefined ? 'UNKNOWN_VENDOR_TYPE' : 'INVALID_VALUE';
      break;
    case 'invalid_format':
      code = isSchema(leaf, CredentialRef) ? 'INLINE_CREDENTIAL' : 'INVALID_FORMAT';
      break;
    case 'too_small':
    case 'too_big':
      code = 'OUT_OF_RANGE';
      break;
    case 'custom':
      code = leafSchema(schema, path, data) === CredentialRef ? 'CREDENTIAL_REF_REFUSED' : 'INVALID_VALUE';
      break;
    default:
      code = 'INVALID_VALUE';
  }
  return [problem(code, file, at, { path: shown, detail })];
}

const EXPECTED: Record<string, string> = {
  array: 'a list (write [a, b] or one "- a" per line)',
  object: 'a mapping (indented "key: value" lines)',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/**
 * One value written where a list is expected (`emails: a@b.c`): the fix is brackets. The
 * example is a placeholder, never the value (which may be a subject's address).
 */
function listHint(key: PathSegment | undefined): string {
  const field = typeof key === 'string' ? key : 'the field';
  const example = key === 'emails' ? 'name@example.com' : key === 'vendors' ? 'maestroqa' : 'value';
  return `Make it a list, even of one: ${field}: [${example}], or one "- ${example}" line per item under ${field}:.`;
}

/** "must be a list ..., not text": names the kind of value found, never the value itself. */
function typeDetail(expected: string, value: unknown): string {
  const found =
    value === null || value === undefined
      ? 'empty'
      : Array.isArray(value)
        ? 'a list'
        : typeof value === 'object'
          ? 'a mapping'
          : typeof value === 'string'
            ? 'text'
            : typeof value === 'number'
              ? 'a number'
              : typeof value === 'boolean'
                ? 'true/false'
                : typeof value;
  return `must be ${expected}, not ${found}`;
}

/**
 * `ENV:TOKEN`, `env: TOKEN`, `Env:TOKEN`, `file :x`: a reference with a typo, not a leaked
 * secret. Returns the corrected reference (safe to show: it names a variable or a path),
 * or undefined when the value does not look like a reference at all.
 */
export function referenceTypo(value: string): string | undefined {
  const m = /^\s*(env|file)\s*[:=]\s*(.+?)\s*$/i.exec(value);
  if (!m) return undefined;
  const kind = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (kind === 'env') {
    const name = rest.replace(/^\$\{?|\}$/g, '').replace(/-/g, '_');
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `env:${name}` : undefined;
  }
  return /^[^\s]+$/.test(rest) ? `file:${rest}` : undefined;
}

/** Belt and braces: zod messages do not quote inputs, but a custom one might. */
function redact(message: string, value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return message;
  const text = String(value);
  if (text.length < 3) return message;
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`(?<![\\w@.-])${escaped}(?![\\w@.-])`, 'g'), '<redacted>');
}

/**
 * Locates paths in parsed manifests, parsing each file again for its node index the first
 * time one of its problems needs a position. One per cross-check run, then dropped, so no
 * index outlives the check (a broken vendor file can put a problem on every request).
 */
export function manifestLocator(): (
  m: ParsedManifest,
  path: readonly PathSegment[],
  which?: 'value' | 'key',
) => Position {
  const indexes = new Map<ParsedManifest, NodeIndex>();
  return (m, path, which = 'value') => {
    let index = indexes.get(m);
    if (index === undefined) {
      index = nodeIndex(m.text);
      indexes.set(m, index);
    }
    return locate(index, path, which);
  };
}
