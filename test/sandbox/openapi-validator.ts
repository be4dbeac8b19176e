import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

type Schema = Record<string, any>;

/**
 * The subset of JSON Schema the Elastic Path OpenAPI files use for responses: type
 * (including type arrays such as [string, 'null']), properties, required, items, enum,
 * const and $ref (siblings of a $ref are merged, as in OpenAPI 3.1).
 */
export class OpenApiValidator {
  readonly doc: Schema;

  constructor(file: string) {
    // JSON is YAML too, but GitHub's 13 MB description parses much faster as JSON.
    this.doc = (
      file.endsWith('.json') ? JSON.parse(readFileSync(file, 'utf8')) : parse(readFileSync(file, 'utf8'))
    ) as Schema;
  }

  /** The JSON schema of one documented response, e.g. ('/v2/personal-data/erasure-requests', 'post', '201'). */
  responseSchema(path: string, method: string, status: string): Schema {
    let response = this.doc.paths[path][method].responses[status];
    if (response.$ref) response = this.resolve(response.$ref);
    return response.content['application/json'].schema;
  }

  resolve(ref: string): Schema {
    let node: any = this.doc;
    for (const part of ref.replace(/^#\//, '').split('/')) node = node[part];
    if (node === undefined) throw new Error(`unresolved ${ref}`);
    return node;
  }

  /** Returns the list of violations (empty when valid). */
  validate(value: unknown, schema: Schema, at = '$', depth = 0): string[] {
    if (depth > 32) return [`${at}: schema too deep`];
    if (schema.$ref) {
      const { $ref, ...rest } = schema;
      return this.validate(value, { ...this.resolve($ref), ...rest }, at, depth + 1);
    }
    const errors: string[] = [];
    // OpenAPI 3.0 (GitHub's description) marks optional nulls with `nullable`, not a type array.
    if (value === null && schema.nullable === true) return errors;
    if (schema.type !== undefined) {
      const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => matchesType(value, t)))
        return [`${at}: expected ${types.join('|')}, got ${JSON.stringify(value)}`];
    }
    if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: not in enum ${JSON.stringify(schema.enum)}`);
    if (schema.const !== undefined && value !== schema.const)
      errors.push(`${at}: expected const ${JSON.stringify(schema.const)}`);
    if (isObject(value)) {
      for (const key of schema.required ?? []) if (!(key in value)) errors.push(`${at}: missing required ${key}`);
      for (const [key, sub] of Object.entries<Schema>(schema.properties ?? {})) {
        if (key in value) errors.push(...this.validate(value[key], sub, `${at}.${key}`, depth + 1));
      }
    }
    if (Array.isArray(value) && schema.items) {
      value.forEach((item, i) => errors.push(...this.validate(item, schema.items, `${at}[${i}]`, depth + 1)));
    }
    return errors;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function matchesType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null':
      return v === null;
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    default:
      return typeof v === t;
  }
}
