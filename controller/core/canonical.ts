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

/** What walk needs of one schema, read from zod's definition once: a status has ~60 nodes and a pass renders thousands. */
interface Compiled {
  type: string;
  fields?: Array<[string, z.ZodType]>;
  known?: Set<string>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}

const compiled = new WeakMap<z.ZodType, Compiled>();

function compile(schema: z.ZodType): Compiled {
  let c = compiled.get(schema);
  if (c) return c;
  const d = zodDef(unwrapSchema(schema));
  c = {
    type: d.type,
    ...(d.shape ? { fields: Object.entries(d.shape), known: new Set(Object.keys(d.shape)) } : {}),
    ...(d.valueType ? { valueType: d.valueType } : {}),
    ...(d.element ? { element: d.element } : {}),
    ...(d.options ? { options: d.options } : {}),
  };
  compiled.set(schema, c);
  return c;
}

function walk(schema: z.ZodType, value: unknown): unknown {
  const c = compile(schema);
  if (c.type === 'union') {
    const member = c.options?.find((o) => o.safeParse(value).success);
    return member ? walk(member, value) : sortedDeep(value);
  }
  if (c.type === 'object' && isPlainObject(value) && c.fields) {
    const out: Record<string, unknown> = {};
    for (const [key, field] of c.fields)
      if (Object.hasOwn(value, key) && value[key] !== undefined) out[key] = walk(field, value[key]);
    const unknown = Object.keys(value).filter((k) => !c.known!.has(k));
    for (const key of unknown.sort()) out[key] = sortedDeep(value[key]);
    return out;
  }
  if (c.type === 'record' && isPlainObject(value) && c.valueType) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, walk(c.valueType!, value[k])]),
    );
  }
  if (c.type === 'array' && Array.isArray(value) && c.element) return value.map((v) => walk(c.element!, v));
  return sortedDeep(value);
}
