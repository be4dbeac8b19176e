import type { z } from 'zod';
import type { PathSegment } from './yaml-source.ts';

/**
 * Just enough of zod's internal definition to walk a schema along a data path. Allowed
 * keys and field identities are read from the schemas themselves so they are never
 * restated by hand.
 */
export interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
}

/** A schema's internal definition (zod v4 keeps it at `_zod.def`). */
export const zodDef = (schema: z.ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'nonoptional', 'readonly', 'catch']);

/** The schema under optional/default/nullable/... wrappers and the input side of pipes. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = zodDef(s);
    if (WRAPPERS.has(d.type) && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The union member that describes `data`: by discriminator, else by the data's shape. */
function pickOption(schema: z.ZodType, data: unknown): z.ZodType | undefined {
  const d = zodDef(schema);
  const options = d.options ?? [];
  if (d.discriminator !== undefined) {
    if (!isPlainObject(data)) return undefined;
    const tag = data[d.discriminator];
    return options.find((o) => {
      const field = zodDef(unwrapSchema(o)).shape?.[d.discriminator!];
      return field !== undefined && (zodDef(unwrapSchema(field)).values ?? []).includes(tag);
    });
  }
  return options.find((o) => {
    const t = zodDef(unwrapSchema(o)).type;
    return t === 'object' || t === 'record' ? isPlainObject(data) : t === 'array' ? Array.isArray(data) : false;
  });
}

function resolve(schema: z.ZodType, data: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = unwrapSchema(schema);
  while (s && zodDef(s).type === 'union') {
    const picked = pickOption(s, data);
    s = picked ? unwrapSchema(picked) : undefined;
  }
  return s;
}

export function schemaAt(root: z.ZodType, path: readonly PathSegment[], data: unknown): z.ZodType | undefined {
  let s: z.ZodType | undefined = root;
  let here = data;
  for (const seg of path) {
    const current = s ? resolve(s, here) : undefined;
    if (!current) return undefined;
    const d = zodDef(current);
    s =
      d.type === 'object'
        ? d.shape?.[String(seg)]
        : d.type === 'array'
          ? d.element
          : d.type === 'record'
            ? d.valueType
            : undefined;
    here = isPlainObject(here) || Array.isArray(here) ? (here as Record<string, unknown>)[String(seg)] : undefined;
  }
  return s;
}

/** The keys an object schema at `path` allows (empty when it is not an object). */
export function allowedKeys(root: z.ZodType, path: readonly PathSegment[], data: unknown): string[] {
  const s = schemaAt(root, path, data);
  const target = s ? resolve(s, valueAt(data, path)) : undefined;
  return target ? Object.keys(zodDef(target).shape ?? {}) : [];
}

/** The keys an object schema at `path` requires (no default, not optional). */
export function requiredKeys(root: z.ZodType, path: readonly PathSegment[], data: unknown): string[] {
  const s = schemaAt(root, path, data);
  const target = s ? resolve(s, valueAt(data, path)) : undefined;
  const shape = target ? (zodDef(target).shape ?? {}) : {};
  return Object.entries(shape)
    .filter(([, field]) => !['optional', 'default', 'prefault'].includes(zodDef(field).type))
    .map(([key]) => key);
}

/** Whether `schema` is `target` or a copy of it (`.describe()` copies a schema but shares its definition). */
export function isSchema(schema: z.ZodType | undefined, target: z.ZodType): boolean {
  return schema !== undefined && zodDef(schema) === zodDef(target);
}

/** The schema node itself, unwrapped: lets callers recognise shared field types by identity. */
export function leafSchema(root: z.ZodType, path: readonly PathSegment[], data: unknown): z.ZodType | undefined {
  const s = schemaAt(root, path, data);
  return s ? unwrapSchema(s) : undefined;
}

export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let here = data;
  for (const seg of path) {
    if (!isPlainObject(here) && !Array.isArray(here)) return undefined;
    here = Object.hasOwn(here, String(seg)) ? (here as Record<string, unknown>)[String(seg)] : undefined;
  }
  return here;
}
