import type { z } from 'zod';
import { isPlainObject, unwrapSchema, zodDef } from '../manifests/schema-walk.ts';

/** Keys of a value no schema describes: sorted, so even those never depend on insertion order. */
function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedDeep(value[k])]),
  );
}

/**
 * The value with its keys in one order that depends only on the schema: object fields in
 * the order the schema declares them (the order a reader expects), map keys (records)
 * sorted. A document rendered from it is byte-identical however it was built — from the
 * journal in one process or parsed back from git in the next — so a restarted controller
 * that learned nothing writes nothing.
 */
export function canonical<T>(schema: z.ZodType, value: T): T {
  return walk(schema, value) as T;
}

function walk(schema: z.ZodType, value: unknown): unknown {
  const s = unwrapSchema(schema);
  const d = zodDef(s);
  if (d.type === 'union') {
    const member = d.options?.find((o) => o.safeParse(value).success);
    return member ? walk(member, value) : sortedDeep(value);
  }
  if (d.type === 'object' && isPlainObject(value) && d.shape) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(d.shape))
      if (Object.hasOwn(value, key) && value[key] !== undefined) out[key] = walk(field, value[key]);
    for (const key of Object.keys(value)
      .filter((k) => !Object.hasOwn(d.shape!, k))
      .sort())
      out[key] = sortedDeep(value[key]);
    return out;
  }
  if (d.type === 'record' && isPlainObject(value) && d.valueType) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, walk(d.valueType!, value[k])]),
    );
  }
  if (d.type === 'array' && Array.isArray(value) && d.element) return value.map((v) => walk(d.element!, v));
  return sortedDeep(value);
}
