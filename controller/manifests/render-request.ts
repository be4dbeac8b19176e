import type { Action, Regulation } from '../../specs/index.ts';

/** What `lethe new` knows about a request, apart from who it is about. */
export interface RequestFields {
  name: string;
  action: Action;
  regulation: Regulation;
  /** YYYY-MM-DD; written quoted so YAML 1.1 tools keep it a string. */
  receivedAt: string;
  vendors: string[] | 'all';
  justification: string;
  extension?: { reason: string; months?: number };
}

/** The personal data of a request: kept apart so that it can be encrypted by a wrapper. */
export interface SubjectFields {
  emails: string[];
  identifiers?: Record<string, Record<string, string>>;
}

/** A YAML double-quoted scalar: JSON's string syntax is valid YAML and escapes everything needed. */
const q = (value: string): string => JSON.stringify(value);

/** Resource names are safe unquoted; anything else is quoted, so no input can change the document's shape. */
const plain = (value: string): string => (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value) ? value : q(value));

/** Where a request named `name` lives: requests/YYYY/MM/<name>.yaml, by the YYYY-MM prefix of its name. */
export function requestPath(name: string): string {
  const m = /^(\d{4})-(\d{2})-/.exec(name);
  return m ? `requests/${m[1]}/${m[2]}/${name}.yaml` : `requests/${name}.yaml`;
}

/**
 * The manifest text of a new request. Every string is quoted (dates included), so the file
 * reads the same in every YAML parser and validates with common JSON Schema tools. This is
 * the one place subject fields are written: wrap it to transform them.
 */
export function renderRequestManifest(fields: RequestFields, subject: SubjectFields): string {
  const depth = requestPath(fields.name).split('/').length - 1;
  const lines = [
    `# yaml-language-server: $schema=${'../'.repeat(depth)}.schemas/privacy-request.schema.json`,
    'apiVersion: lethe/v1',
    'kind: PrivacyRequest',
    'metadata:',
    `  name: ${q(fields.name)}`,
    'spec:',
    `  action: ${fields.action}`,
    `  regulation: ${fields.regulation}`,
    `  receivedAt: ${q(fields.receivedAt)}`,
  ];
  if (fields.extension) {
    lines.push('  extension:', `    reason: ${q(fields.extension.reason)}`);
    if (fields.extension.months !== undefined) lines.push(`    months: ${fields.extension.months}`);
  }
  lines.push('  subject:', '    emails:', ...subject.emails.map((e) => `      - ${q(e)}`));
  const identifiers = Object.entries(subject.identifiers ?? {});
  if (identifiers.length > 0) {
    lines.push('    identifiers:');
    for (const [vendor, keys] of identifiers) {
      lines.push(`      ${plain(vendor)}:`, ...Object.entries(keys).map(([k, v]) => `        ${q(k)}: ${q(v)}`));
    }
  }
  lines.push(
    fields.vendors === 'all' ? '  vendors: all' : `  vendors: [${fields.vendors.map(plain).join(', ')}]`,
    `  justification: ${q(fields.justification)}`,
  );
  return lines.join('\n') + '\n';
}

/**
 * The next free name of the month: YYYY-MM-NNNN, one more than the highest number `taken`
 * holds for that month (names from every branch, so an open pull request's name is not
 * handed out twice).
 */
export function nextRequestName(month: string, taken: Iterable<string>): string {
  let highest = 0;
  const pattern = new RegExp(`^${month}-(\\d{4,})$`);
  for (const name of taken) {
    const m = pattern.exec(name);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return `${month}-${String(highest + 1).padStart(4, '0')}`;
}
