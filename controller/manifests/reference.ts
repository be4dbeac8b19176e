import { jsonSchemaOf, type JsonSchema } from './json-schema.ts';

interface Row {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

const asSchema = (v: unknown): JsonSchema => (typeof v === 'object' && v !== null ? (v as JsonSchema) : {});

function typeOf(s: JsonSchema): string {
  if ('const' in s) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.enum)) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (Array.isArray(s.anyOf)) return s.anyOf.map((o) => typeOf(asSchema(o))).join(' or ');
  if (s.type === 'array') return `list of ${typeOf(asSchema(s.items))}`;
  if (s.type === 'object') return s.properties ? 'mapping' : `map of ${typeOf(asSchema(s.additionalProperties))}`;
  const format = typeof s.format === 'string' ? ` (${s.format})` : '';
  return `${String(s.type ?? 'any')}${format}`;
}

/** Flattens nested mappings into dotted rows; lists of mappings continue with `[]`. */
function rows(s: JsonSchema, prefix: string, out: Row[]): Row[] {
  const props = asSchema(s.properties);
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  for (const [key, raw] of Object.entries(props)) {
    const field = asSchema(raw);
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (Array.isArray(field.oneOf)) continue;
    out.push({
      path,
      type: typeOf(field),
      required: required.has(key),
      default: field.default,
      description: field.description as string | undefined,
    });
    if (field.properties) rows(field, path, out);
    const items = asSchema(field.items);
    if (field.type === 'array' && items.properties) rows(items, `${path}[]`, out);
    const values = asSchema(field.additionalProperties);
    if (field.type === 'object' && values.properties) rows(values, `${path}.<name>`, out);
    const nested = asSchema(values.additionalProperties);
    if (values.type === 'array' && asSchema(values.items).properties)
      rows(asSchema(values.items), `${path}.<name>[]`, out);
    if (nested.properties) rows(nested, `${path}.<name>.<key>`, out);
  }
  return out;
}

function table(list: Row[]): string {
  const cell = (v: string) => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| Field | Type | Required | Default | Description |', '|---|---|---|---|---|'];
  for (const r of list) {
    const def = r.default === undefined ? '' : `\`${JSON.stringify(r.default)}\``;
    lines.push(
      `| \`${r.path}\` | ${r.type} | ${r.required ? 'yes' : 'no'} | ${cell(def)} | ${cell(r.description ?? '')} |`,
    );
  }
  return lines.join('\n');
}

/** The manifest reference (docs/reference/manifests.md), generated from the exported JSON Schemas. */
export function manifestReference(): string {
  const parts: string[] = [];
  const request = jsonSchemaOf('privacy-request.schema.json');
  parts.push('### PrivacyRequest (`requests/**/<name>.yaml`)', '', table(rows(request, '', [])));

  const vendor = jsonSchemaOf('vendor-connection.schema.json');
  parts.push('', '### VendorConnection (`vendors/<name>.yaml`)', '', table(rows(vendor, '', [])));
  const specs = asSchema(asSchema(vendor.properties).spec);
  for (const option of (specs.oneOf as unknown[] | undefined) ?? []) {
    const o = asSchema(option);
    const type = asSchema(asSchema(o.properties).type).const;
    parts.push('', `#### \`spec\` for \`type: ${String(type)}\``, '', table(rows(o, 'spec', [])));
  }

  const config = jsonSchemaOf('lethe-config.schema.json');
  parts.push('', '### LetheConfig (`lethe.yaml`)', '', table(rows(config, '', [])));
  return parts.join('\n') + '\n';
}
