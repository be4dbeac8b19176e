import type { RateWindow } from './rate-limit.ts';
import type { SandboxCredentials, SandboxDelays, SandboxOutcomes, VendorName } from './types.ts';
import { MAILCHIMP_LIST_ID } from './vendors/mailchimp.ts';

/** Fixed, documented defaults: the sandbox is local and its secrets are not secret. */
export const DEFAULT_CREDENTIALS: SandboxCredentials = {
  maestroqa: { apiToken: 'sandbox-maestroqa-token' },
  qualifio: { apiToken: 'sandbox-qualifio-token', clientId: 2449, dpoUserId: 7001 },
  elasticpath: { clientId: 'sandbox-ep-client-id', clientSecret: 'sandbox-ep-client-secret' },
  answerhub: { username: 'gdpr-admin', password: 'sandbox-answerhub-password' },
  acme: { username: 'lethe', password: 'sandbox-acme-password' },
  mailchimp: { apiKey: 'sandbox-mailchimp-key-us21', listId: MAILCHIMP_LIST_ID },
};

/**
 * Nominal vendor durations. With the default time-scale 0.1 a demo finishes in about a
 * minute: MaestroQA's deep delete (really a daily batch) takes 60 s, a Qualifio rule 12 s,
 * an Elastic Path erasure 3 s, an AnswerHub job runs at its scheduled time / 10.
 */
export const DEFAULT_DELAYS: SandboxDelays = {
  maestroqaDeepDelete: 600_000,
  qualifioRule: 120_000,
  elasticpathErasure: 30_000,
};

export const DEFAULT_OUTCOMES: SandboxOutcomes = {
  maestroqaErrorRate: 0.05,
  elasticpathFailureRate: 0.1,
};

export const DEFAULT_TIME_SCALE = 0.1;

/**
 * Documented limits (MaestroQA: 1/s and 30/min per token; Elastic Path: 25/s per client
 * for development stores). Qualifio, AnswerHub and the acme service document none: the
 * defaults are assumptions. Mailchimp documents 10 simultaneous connections, which its
 * simulator enforces itself; its window here is a generous assumption.
 */
export const DEFAULT_LIMITS: Record<VendorName, RateWindow[]> = {
  maestroqa: [
    { limit: 1, windowMs: 1000 },
    { limit: 30, windowMs: 60_000 },
  ],
  qualifio: [{ limit: 10, windowMs: 1000 }],
  elasticpath: [{ limit: 25, windowMs: 1000 }],
  answerhub: [{ limit: 10, windowMs: 1000 }],
  acme: [{ limit: 20, windowMs: 1000 }],
  mailchimp: [{ limit: 50, windowMs: 1000 }],
};

/** What a VendorConnection's baseUrl should be, relative to the sandbox origin. */
export const BASE_PATHS: Record<VendorName, string> = {
  maestroqa: '/maestroqa/api/v1',
  qualifio: '/qualifio',
  elasticpath: '/elasticpath',
  answerhub: '/answerhub',
  acme: '/acme',
  mailchimp: '/mailchimp',
};
