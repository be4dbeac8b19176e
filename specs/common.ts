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
  .refine((v) => !/^env:LETHE_/i.test(v), { error: 'env:LETHE_* names the controller\'s own settings and secrets, which a vendor connection may not read' })
  .refine((v) => !v.startsWith('file:') || !v.slice(5).split(/[\\/]/).includes('..'), {
    error: 'file: references stay inside the secrets directory: ".." is refused',
  })
  .describe('A secret reference: env:NAME (environment variable) or file:PATH, never the secret itself.');
export type CredentialRef = z.infer<typeof CredentialRef>;

export const IsoDate = z.iso.date({ error: 'must be a date in the form YYYY-MM-DD' });

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
