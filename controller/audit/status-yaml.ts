import { parse as parseYaml } from 'yaml';

/**
 * Reads a status file as the controller renders it (block mappings and sequences, one scalar
 * per line) about a hundred times faster than the general YAML parser: an audit reads every
 * version of every status file, 30,000 documents for 10,000 requests. Anything outside that
 * shape (a hand-edited file with flow collections, block scalars, anchors, tags, odd
 * scalars) goes to the general parser, so the result is always what `yaml` would return.
 */
export function parseStatusYaml(text: string): unknown {
  try {
    const fast = parseSimple(text);
    if (fast !== FALLBACK) return fast;
  } catch {
    // fall through to the general parser
  }
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

const FALLBACK = Symbol('fallback');

/** The fast path alone: undefined where the general parser is needed (exported for tests). */
export function parseRendered(text: string): unknown {
  try {
    const fast = parseSimple(text);
    return fast === FALLBACK ? undefined : fast;
  } catch {
    return undefined;
  }
}
type Container = Record<string, unknown> | unknown[];

interface Frame {
  indent: number;
  value: Container;
}

const KEY = /^([A-Za-z_][A-Za-z0-9_.\-/]*):(?: (.*))?$/;

function parseSimple(text: string): unknown {
  if (text.includes('\t') || text.includes('\r')) return FALLBACK;
  const root: Record<string, unknown> = {};
  const stack: Frame[] = [{ indent: -1, value: root }];
  /** A `key:` with nothing after it: its container is decided by the next line. */
  let open: { parent: Container; key: string; indent: number } | undefined;
  for (let start = 0, end = 0; start < text.length; start = end + 1) {
    end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let indent = 0;
    while (start + indent < end && text.charCodeAt(start + indent) === 0x20) indent++;
    if (start + indent === end) continue;
    const first = text.charCodeAt(start + indent);
    if (first === 0x23) continue; // '#': a comment line
    // Any other leading whitespace is YAML the controller never writes.
    if (first < 0x21 || first === 0x85 || first === 0xa0 || first >= 0x1680) {
      if (text.slice(start, end).trim() === '') continue;
      return FALLBACK;
    }
    let line = text.slice(start + indent, end);
    if (open) {
      const seq = line.startsWith('- ') || line === '-';
      if (indent < open.indent || (indent === open.indent && !seq)) {
        (open.parent as Record<string, unknown>)[open.key] = null;
      } else {
        const value: Container = seq ? [] : {};
        (open.parent as Record<string, unknown>)[open.key] = value;
        stack.push({ indent: seq ? indent : indent, value });
      }
      open = undefined;
    }
    while (stack.length > 1 && indent < stack[stack.length - 1]!.indent) stack.pop();
    let top = stack[stack.length - 1]!;
    if (line.startsWith('- ')) {
      if (!Array.isArray(top.value) || indent !== top.indent) return FALLBACK;
      const rest = line.slice(2);
      const keyed = KEY.exec(rest);
      if (!keyed) {
        const scalar = readScalar(rest);
        if (scalar === FALLBACK) return FALLBACK;
        top.value.push(scalar);
        continue;
      }
      const item: Record<string, unknown> = {};
      top.value.push(item);
      indent += 2;
      line = rest;
      stack.push({ indent, value: item });
      top = stack[stack.length - 1]!;
    }
    if (Array.isArray(top.value) || (indent !== top.indent && top.value !== root)) return FALLBACK;
    if (top.value === root && indent !== 0) return FALLBACK;
    const match = KEY.exec(line);
    if (!match) return FALLBACK;
    const [, key, value] = match;
    if (Object.hasOwn(top.value, key!) || maybeSpecial(key!) || key === '__proto__') return FALLBACK;
    if (value === undefined || value === '') {
      open = { parent: top.value, key: key!, indent };
      continue;
    }
    const scalar = readScalar(value);
    if (scalar === FALLBACK) return FALLBACK;
    top.value[key!] = scalar;
  }
  if (open) (open.parent as Record<string, unknown>)[open.key] = null;
  return root;
}

/** Scalars the renderer writes; everything else is left to the general parser. */
function readScalar(s: string): unknown {
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2 || /\\[^"\\/bfnrtu]/.test(s)) return FALLBACK;
    try {
      const v: unknown = JSON.parse(s);
      return typeof v === 'string' ? v : FALLBACK;
    } catch {
      return FALLBACK;
    }
  }
  if (s.startsWith("'")) {
    const inner = s.slice(1, -1);
    if (!s.endsWith("'") || s.length < 2 || /'(?!')/.test(inner.replace(/''/g, ''))) return FALLBACK;
    return inner.replace(/''/g, "'");
  }
  if (s === '[]') return [];
  if (s === '{}') return {};
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?(0|[1-9][0-9]{0,14})$/.test(s)) return Number(s);
  return isPlainString(s) ? s : FALLBACK;
}

/** YAML 1.2 core-schema scalars that a plain string must not look like. */
const SPECIAL =
  /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|null|Null|NULL|~|true|True|TRUE|false|False|FALSE)$/;

function isPlainString(s: string): boolean {
  return (
    /^[^\s\-?:,[\]{}#&*!|>'"%@`]/.test(s) && !hasControlCharacter(s) && !/(: | #|:$|\s$)/.test(s) && !maybeSpecial(s)
  );
}

/** SPECIAL, tested only for what can match it: every such scalar starts with one of these. */
function maybeSpecial(s: string): boolean {
  const c = s.charCodeAt(0);
  const candidate =
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x7e ||
    c === 0x6e ||
    c === 0x4e ||
    c === 0x74 ||
    c === 0x54 ||
    c === 0x66 ||
    c === 0x46;
  return candidate && SPECIAL.test(s);
}

/** C0/C1 controls and the characters YAML may treat as line breaks or a byte-order mark. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || c === 0xfeff) return true;
  }
  return false;
}
