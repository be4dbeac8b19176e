import { z } from 'zod';

export const API_VERSION = 'lethe/v1';

/** DNS-label-like names: they become file names, commit trailers and URL segments. */
export const ResourceName = z
  .string()
  .min(1)
  .max(63, { error: 'must be at most 63 characters (it is used as a DNS-label-like file name)' })
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, {
    error: 'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
  });

/**
 * A secret is never written inline: only a reference to where the controller reads it.
 * `env:NAME` reads an environment variable (never the controller's own LETHE_*),
 * `file:PATH` a file inside the controller's secrets directory (relative paths resolve
 * against it; no "..": a manifest names a secret, it does not pick a file of the machine).
 */
export const CredentialRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, {
    error: 'must be a reference "env:NAME" or "file:PATH", never the secret itself',
  })
  .refine((v) => !/^env:LETHE_/i.test(v), {
    error: "env:LETHE_* names the controller's own settings and secrets, which a vendor connection may not read",
  })
  .refine((v) => !v.startsWith('file:') || !v.slice(5).split(/[\\/]/).includes('..'), {
    error: 'file: references stay inside the secrets directory: ".." is refused',
  })
  .describe('A secret reference: env:NAME (environment variable) or file:PATH, never the secret itself.');
export type CredentialRef = z.infer<typeof CredentialRef>;

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** What is wrong with a date string, in words a person can act on; undefined when it is a real date. */
export function isoDateProblem(value: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return 'must be a date written YYYY-MM-DD (quote it: "2026-11-20")';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `month ${m[2]} is invalid: months run from 01 to 12 (the form is YYYY-MM-DD)`;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && !leap ? 28 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > days) return `day ${m[3]} is invalid: ${m[1]}-${m[2]} has ${days} days`;
  return undefined;
}

/**
 * A calendar date as a string. YAML 1.1 readers (PyYAML, ajv-cli through js-yaml) turn an
 * unquoted 2026-11-20 into a date object that JSON Schema calls "not a string": manifests
 * quote dates, and the schema says so.
 */
export const IsoDate = z
  .string({ error: 'must be a date written as a quoted string, "YYYY-MM-DD"' })
  .superRefine((value, ctx) => {
    const problem = isoDateProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

export const RateWindow = z.strictObject({
  limit: z.int().positive().describe('Calls allowed per window.'),
  perSeconds: z.number().positive().describe('Window length in seconds.'),
});
export type RateWindow = z.infer<typeof RateWindow>;

export const Labels = z.record(
  z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/, { error: 'invalid label key' }),
  z.string().max(63),
);

export const ObjectMeta = z.strictObject({
  name: ResourceName.describe('Unique name per kind; lowercase letters, digits and "-". Must equal the file name.'),
  labels: Labels.optional().describe('Free-form labels for selection and reporting.'),
  annotations: z.record(z.string(), z.string()).optional().describe('Free-form notes; never personal data.'),
});

export const ACTIONS = ['erasure', 'access', 'optout'] as const;
export const Action = z.enum(ACTIONS);
export type Action = z.infer<typeof Action>;

export const REGULATIONS = ['gdpr', 'ccpa', 'other'] as const;
export const Regulation = z.enum(REGULATIONS);
export type Regulation = z.infer<typeof Regulation>;
