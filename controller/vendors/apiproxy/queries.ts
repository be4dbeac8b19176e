import type { ApiProxyConnection, ApiProxyQuery } from '../../../specs/index.ts';
import { LetheError } from '../../errors/types.ts';
import { renderRequest } from '../../http/template.ts';
import { apiProxyErrors } from './errors.ts';

export type QueryKind = 'test' | 'access' | 'delete' | 'optout';

/** One query of the connection with its place in it, e.g. `queries.delete[1]`. */
export interface Query {
  field: string;
  label: string;
  query: ApiProxyQuery;
}

export interface Rendered {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export function queriesOf(connection: ApiProxyConnection, kind: QueryKind): Query[] {
  return (connection.queries[kind] ?? []).map((query, i) => ({
    field: `queries.${kind}[${i}]`,
    label: `apiproxy.${kind}[${i}]`,
    query,
  }));
}

export function identifierQueries(connection: ApiProxyConnection, category: string): Query[] {
  return (connection.queries.identifiers?.[category] ?? []).map((query, i) => ({
    field: `queries.identifiers.${category}[${i}]`,
    label: `apiproxy.identifiers.${category}[${i}]`,
    query,
  }));
}

/** Placeholder names in a template, with the grammar of http/template.ts (`{{`/`}}` are literals). */
export function placeholders(template: string): string[] {
  const names: string[] = [];
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) i++;
    else if (c === '{') {
      const end = template.indexOf('}', i + 1);
      if (end < 0) break;
      names.push(template.slice(i + 1, end));
      i = end;
    }
  }
  return names;
}

/** Each template of a query with the name errors give it, e.g. `queries.delete[0].headers.Authorization`. */
function templates(field: string, q: ApiProxyQuery): Array<[string, string]> {
  return [
    [`${field}.url`, q.url],
    ...Object.entries(q.headers ?? {}).map(([name, value]): [string, string] => [`${field}.headers.${name}`, value]),
    ...(q.body === undefined ? [] : [[`${field}.body`, q.body] as [string, string]]),
  ];
}

export function queryPlaceholders(q: ApiProxyQuery): Set<string> {
  return new Set(templates('', q).flatMap(([, t]) => placeholders(t)));
}

/**
 * Checks every template before anything is sent, so that a configuration error never
 * leaves a subject half deleted: unknown names, missing credentials, syntax (by a dry
 * render with neutral values). Header injection depends on real values: see `render`.
 */
export function checkTemplates(queries: readonly Query[], available: readonly string[], hasCredentials: boolean): void {
  const dummy = Object.fromEntries(available.map((n) => [n, 'x']));
  for (const { field, query } of queries) {
    for (const [where, template] of templates(field, query)) {
      for (const name of placeholders(template)) {
        if (name === 'credentials' && available.includes(name) && !hasCredentials) {
          throw apiProxyErrors.error('APIPROXY_NO_CREDENTIALS', { field: where }, { scope: 'vendor' });
        }
        if (!available.includes(name)) {
          throw apiProxyErrors.error('APIPROXY_UNKNOWN_PLACEHOLDER', {
            field: where,
            placeholder: `{${name}}`,
            available: available.map((n) => `{${n}}`).join(', '),
          });
        }
      }
    }
    render({ field, label: '', query }, dummy);
  }
}

/** Renders a query through the context-aware templating (URL-encoded, JSON-escaped, CR/LF-free headers). */
export function render(q: Query, values: Readonly<Record<string, string>>): Rendered {
  try {
    return { method: q.query.verb.toUpperCase(), ...renderRequest(q.query, values, q.field) };
  } catch (err) {
    if (!(err instanceof LetheError)) throw err;
    // The template layer's messages name fields and placeholders, never values.
    if (err.code === 'TEMPLATE_HEADER_INJECTION')
      throw apiProxyErrors.error('APIPROXY_HEADER_INJECTION', { problem: err.message });
    if (err.code === 'TEMPLATE_SYNTAX')
      throw apiProxyErrors.error('APIPROXY_TEMPLATE_INVALID', { problem: err.message });
    throw err;
  }
}

/**
 * The value sets a query runs with: one per combination of the identifier values it uses.
 * Empty when a category it uses has no value (the API does not know the subject by it).
 */
export function bindings(
  q: ApiProxyQuery,
  base: Readonly<Record<string, string>>,
  identifiers: ReadonlyMap<string, readonly string[]>,
): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{ ...base }];
  for (const name of queryPlaceholders(q)) {
    const values = identifiers.get(name);
    if (values === undefined) continue;
    out = out.flatMap((b) => values.map((v) => ({ ...b, [name]: v })));
  }
  return out;
}
