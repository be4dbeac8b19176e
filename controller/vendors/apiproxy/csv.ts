import type { JsonValue } from '../../contracts/driver.ts';

export type JsonObject = { [key: string]: JsonValue };

/**
 * DataGrail's access report format (seed 002): one `report_N.csv` per object of an access
 * answer, one `key, value` line per leaf. Nested keys are joined with `_`, array items get
 * their index (`friends_0`, `address_street`, `m_0_1`). Choices the seed leaves open:
 * - lines end with LF, the file with a final LF; UTF-8 without BOM;
 * - strings as is; numbers as JSON writes them; booleans `true`/`false`; null as an empty value;
 * - an empty object or array is kept as a line `key, {}` / `key, []` (the fact stays visible);
 * - a key or value holding `,`, `"`, CR or LF, or starting or ending with white space, is
 *   quoted RFC 4180-style (`"` doubled), so that splitting on the first unquoted `, ` is exact;
 * - keys are not de-duplicated: `{"a_b": 1, "a": {"b": 2}}` gives two `a_b` lines;
 * - key order is the parsed object's: JavaScript lists integer-like keys ("2") first.
 */
export function flatten(object: JsonObject): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const walk = (key: string, value: JsonValue): void => {
    if (Array.isArray(value)) {
      if (value.length === 0) rows.push([key, '[]']);
      value.forEach((item, i) => walk(`${key}_${i}`, item));
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 0) rows.push([key, '{}']);
      for (const k of keys) walk(`${key}_${k}`, value[k]!);
    } else {
      rows.push([key, scalar(value)]);
    }
  };
  for (const [k, v] of Object.entries(object)) walk(k, v);
  return rows;
}

function scalar(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(object: JsonObject): string {
  return flatten(object)
    .map(([k, v]) => `${csvField(k)}, ${csvField(v)}\n`)
    .join('');
}

/** `report_1.csv`, `report_2.csv`, ... numbered across every object given, in order. */
export function reportFiles(objects: readonly JsonObject[]): Array<{ name: string; content: Buffer }> {
  return objects.map((o, i) => ({ name: `report_${i + 1}.csv`, content: Buffer.from(toCsv(o), 'utf8') }));
}
