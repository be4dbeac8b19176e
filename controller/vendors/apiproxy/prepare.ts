import type { DriverContext } from '../../contracts/driver.ts';
import { budget, checkStatus, identifierValues, send, type Budget } from './api.ts';
import {
  bindings,
  checkTemplates,
  identifierQueries,
  queriesOf,
  queryPlaceholders,
  render,
  type Query,
  type Rendered,
} from './queries.ts';

type Ctx = DriverContext<'apiproxy'>;
export type ActionKind = 'access' | 'delete' | 'optout';

/** One query for one of the subject's emails: `key` = `<email index>.<query index>` (no personal data). */
export interface Unit {
  key: string;
  query: Query;
  /** One rendered call per binding of identifier values; none = the subject is unknown by them. */
  calls: Rendered[];
}

/** Substitution names the driver provides itself; identifier categories cannot shadow them. */
const RESERVED = ['email', 'credentials'];

export function unitKey(email: number, query: number): string {
  return `${email}.${query}`;
}

/**
 * Checks every template, then, per email of the subject, collects the identifiers the
 * pending queries use and renders those queries: everything that can fail on the
 * configuration or on a substituted value fails here, before any delete or opt-out is sent.
 * The identifier values live in this function's result only (personal data: never persisted).
 */
export async function prepare(
  ctx: Ctx,
  kind: ActionKind,
  emails: readonly string[],
  done: ReadonlySet<string>,
): Promise<Unit[]> {
  const connection = ctx.spec.connection;
  const categories = Object.keys(connection.queries.identifiers ?? {}).filter((c) => !RESERVED.includes(c));
  const credentials = ctx.secrets.credentials;
  const queries = queriesOf(connection, kind);
  checkTemplates(queries, [...RESERVED, ...categories], credentials !== undefined);
  checkTemplates(
    categories.flatMap((c) => identifierQueries(connection, c)),
    RESERVED,
    credentials !== undefined,
  );

  let idBudget: Budget | undefined;
  const units: Unit[] = [];
  for (const [e, email] of emails.entries()) {
    const base: Record<string, string> = { email, ...(credentials === undefined ? {} : { credentials }) };
    const pending = queries.map((q, i) => ({ q, key: unitKey(e, i) })).filter((p) => !done.has(p.key));
    const used = categories.filter((c) => pending.some((p) => queryPlaceholders(p.q.query).has(c)));
    const identifiers = new Map<string, string[]>();
    for (const category of used) {
      idBudget ??= budget(ctx, 'identifiers');
      const values: string[] = [];
      for (const q of identifierQueries(connection, category)) {
        const res = await send(ctx, q, render(q, base), idBudget, true);
        checkStatus(q, res);
        for (const v of identifierValues(q, res, category)) if (!values.includes(v)) values.push(v);
      }
      identifiers.set(category, values);
    }
    for (const { q, key } of pending)
      units.push({ key, query: q, calls: bindings(q.query, base, identifiers).map((b) => render(q, b)) });
  }
  return units;
}
