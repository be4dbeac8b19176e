import type { LetheError } from '../errors/types.ts';
import { httpErrors, type HttpErrorCode } from './errors.ts';

/**
 * DataGrail API Proxy substitutions (seed 002): `{name}` is replaced, `{{` and `}}` are
 * literal braces. Each value is encoded for where it lands, so that a hostile identifier
 * (quotes, `&`, `#`, newlines) arrives at the vendor byte for byte and cannot change the
 * request's structure:
 * - url: encodeURIComponent (a value can never add a query parameter or a path segment;
 *   this assumes placeholders stand for components, not whole URLs);
 * - json: JSON string content without the quotes (placeholders sit inside a string
 *   literal, as in the seed's `"{{\"email\": \"{email}\"}}"`);
 * - form: encodeURIComponent (valid application/x-www-form-urlencoded);
 * - header: the value as is, rejected if it holds CR, LF or NUL;
 * - raw: the value as is (other body types: the vendor config decides).
 * Errors name the field and placeholder, never a value.
 */
export type TemplateContext = 'url' | 'json' | 'form' | 'header' | 'raw';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function templateError(code: HttpErrorCode, details: Record<string, string | number>): LetheError {
  return httpErrors.error(code, details);
}

function encode(value: string, context: TemplateContext, field: string, placeholder: string): string {
  switch (context) {
    case 'url':
    case 'form':
      return encodeURIComponent(value);
    case 'json':
      return JSON.stringify(value).slice(1, -1);
    case 'header':
      if (/[\r\n\0]/.test(value)) throw templateError('TEMPLATE_HEADER_INJECTION', { field, placeholder });
      return value;
    case 'raw':
      return value;
  }
}

/** `field` names the template in errors, e.g. `queries.delete[0].url`. */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string>>,
  context: TemplateContext,
  field: string,
): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c === '{' && template[i + 1] === '{') {
      out += '{';
      i += 2;
    } else if (c === '}' && template[i + 1] === '}') {
      out += '}';
      i += 2;
    } else if (c === '}') {
      throw templateError('TEMPLATE_SYNTAX', {
        field,
        problem: 'unmatched "}" (write "}}" for a literal brace)',
        position: i,
      });
    } else if (c === '{') {
      const end = template.indexOf('}', i + 1);
      if (end < 0)
        throw templateError('TEMPLATE_SYNTAX', {
          field,
          problem: 'unclosed "{" (write "{{" for a literal brace)',
          position: i,
        });
      const name = template.slice(i + 1, end);
      if (!NAME.test(name))
        throw templateError('TEMPLATE_SYNTAX', { field, problem: 'invalid placeholder name', position: i });
      if (!Object.hasOwn(values, name))
        throw templateError('TEMPLATE_UNKNOWN_PLACEHOLDER', { field, placeholder: name });
      out += encode(values[name]!, context, field, name);
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  if (context === 'header' && /[\r\n\0]/.test(out)) {
    throw templateError('TEMPLATE_HEADER_INJECTION', { field, placeholder: '(literal text)' });
  }
  return out;
}

/**
 * How a body template is encoded: from the request's Content-Type, or without one from
 * the template's shape (a JSON object or array, as in every DataGrail example).
 */
export function bodyContext(contentType: string | undefined, template: string): TemplateContext {
  if (contentType === undefined) return /^\s*(\{\{|\[)/.test(template) ? 'json' : 'raw';
  if (/json/i.test(contentType)) return 'json';
  if (/x-www-form-urlencoded/i.test(contentType)) return 'form';
  return 'raw';
}

export interface RequestTemplate {
  url: string;
  headers?: Readonly<Record<string, string>>;
  body?: string;
}

/** Renders an API-Proxy-style request; `field` prefixes the names used in errors. */
export function renderRequest(
  t: RequestTemplate,
  values: Readonly<Record<string, string>>,
  field: string,
): { url: string; headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(t.headers ?? {})) {
    headers[name] = renderTemplate(value, values, 'header', `${field}.headers.${name}`);
  }
  const contentType = Object.entries(headers).find(([n]) => n.toLowerCase() === 'content-type')?.[1];
  const url = renderTemplate(t.url, values, 'url', `${field}.url`);
  if (t.body === undefined) return { url, headers };
  return { url, headers, body: renderTemplate(t.body, values, bodyContext(contentType, t.body), `${field}.body`) };
}
