import type { IncomingHttpHeaders } from 'node:http';
import type { Clock, Scheduler } from './clock.ts';
import type { Ledger } from './ledger.ts';
import type { SubjectFixture } from './population.ts';

export const VENDORS = ['maestroqa', 'qualifio', 'elasticpath', 'answerhub', 'acme', 'mailchimp'] as const;
export type VendorName = (typeof VENDORS)[number];

export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  params: Record<string, string>;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** A non-JSON body (CSV, archive download); `body` is ignored when set. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Emails the call concerned, learned while handling it (hashed in the ledger). */
  subjects?: string[];
  /** Non-idempotent submissions for subjects that already have an open or finished job. */
  duplicates?: number;
  /** For routes that authenticate in the handler (OAuth token endpoint). */
  authOk?: boolean;
}

export interface Route {
  method: string;
  /** Path template below the vendor prefix, e.g. `/data-deletion-check/{id}`. */
  template: string;
  /** Short name used by fault specs (`vendor/name`). */
  name: string;
  /** false for public routes (token endpoint, signed archive download). */
  auth: boolean;
  /** Rate-limit key for routes without auth (e.g. the OAuth client id); none = unlimited. */
  limitKey?(req: SandboxRequest): string | undefined;
  handle(req: SandboxRequest): Reply | Promise<Reply>;
}

export interface VendorSim {
  name: VendorName;
  /** Path prefix on the sandbox port, e.g. `/maestroqa/api/v1`. */
  prefix: string;
  routes: Route[];
  /** Rate-limit key (token / client / user) for valid credentials, null otherwise. */
  authenticate(req: SandboxRequest): string | null;
  unauthorized(): Reply;
  /**
   * No longer called: a path no route serves gets the server's HTML 404 (ROUTE_NOT_FOUND
   * in server.ts). Optional until every simulator dropped it.
   */
  notFound?(): Reply;
  tooManyRequests(retryAfterSeconds: number): Reply;
  serverError(status: number): Reply;
  /** Back to the seeded population; drops jobs and tokens. */
  reset(): void;
}

export interface SandboxCredentials {
  maestroqa: { apiToken: string };
  qualifio: { apiToken: string; clientId: number; dpoUserId: number };
  elasticpath: { clientId: string; clientSecret: string };
  answerhub: { username: string; password: string };
  acme: { username: string; password: string };
  mailchimp: { apiKey: string; listId: string };
}

/** Nominal vendor-side durations (ms), before the time-scale is applied. */
export interface SandboxDelays {
  maestroqaDeepDelete: number;
  qualifioRule: number;
  elasticpathErasure: number;
}

/** Fractions of async jobs that end badly, drawn from the seeded PRNG. */
export interface SandboxOutcomes {
  maestroqaErrorRate: number;
  elasticpathFailureRate: number;
}

export interface VendorContext {
  clock: Clock;
  scheduler: Scheduler;
  seed: number;
  credentials: SandboxCredentials;
  delays: SandboxDelays;
  outcomes: SandboxOutcomes;
  subjects: () => readonly SubjectFixture[];
  /** Base URL of the running sandbox (known only after listen). */
  origin: () => string;
  ledger: Ledger;
}

export function jsonBody(req: SandboxRequest): unknown {
  if (req.rawBody.trim() === '') return undefined;
  try {
    return JSON.parse(req.rawBody) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function basicAuth(req: SandboxRequest): { user: string; pass: string } | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

export const normEmail = (email: string): string => email.trim().toLowerCase();
