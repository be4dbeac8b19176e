import { createHmac } from 'node:crypto';

/** Emails compare case-insensitively and without surrounding space. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * A keyed hash (HMAC-SHA-256 with the controller's secret salt) of one email. Without the
 * salt a known address cannot be tested against status files; with it, the controller
 * can tell that two requests concern the same person.
 */
export function subjectKey(salt: string, email: string): string {
  return createHmac('sha256', salt).update(normaliseEmail(email)).digest('hex').slice(0, 32);
}

/** One reference for the whole subject, for status files: stable whatever the email order. */
export function subjectRef(salt: string, emails: readonly string[]): string {
  const joined = [...new Set(emails.map(normaliseEmail))].sort().join('\n');
  return `hmac-sha256:${createHmac('sha256', salt).update(joined).digest('hex').slice(0, 24)}`;
}
