import { z } from 'zod';

/**
 * An age-encrypted subject value, written on one line as `age:<epoch>:<base64>`: the key
 * epoch whose controller key can open it (so the controller knows which identity to use,
 * and `lethe shred` which requests an epoch holds), then the binary age file in standard
 * base64. Nothing else of the value is visible: not its length class, not who else can read it.
 */
export const SEALED_PREFIX = 'age:';
export const EPOCH_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
export const SEALED_VALUE = /^age:([A-Za-z0-9][A-Za-z0-9._-]{0,31}):([A-Za-z0-9+/]{40,}={0,2})$/;

export const EpochId = z
  .string()
  .regex(EPOCH_ID, { error: 'must be 1 to 32 letters, digits, ".", "_" or "-" (for example 2026Q4)' });

/** An age X25519 recipient (public key): bech32 `age1` followed by 58 characters. */
export const AgeRecipient = z
  .string()
  .regex(/^age1[02-9ac-hj-np-z]{58}$/, { error: 'must be an age X25519 recipient (age1 followed by 58 characters)' });

export function isSealed(value: string): boolean {
  return SEALED_VALUE.test(value);
}

/** The epoch a sealed value names, or undefined for a plain value. */
export function sealedEpoch(value: string): string | undefined {
  return SEALED_VALUE.exec(value)?.[1];
}

/** A value that is either plain or a well-formed sealed value (a broken `age:` value is not taken for plain). */
const notBrokenSealed = new RegExp(`^(?!${SEALED_PREFIX})|${SEALED_VALUE.source}`);

/** A subject email: a valid address, or one sealed with age. */
export const SubjectEmail = z
  .string()
  .regex(new RegExp(`${z.regexes.email.source}|^${SEALED_PREFIX}`), { error: 'must be a valid email address' })
  .regex(notBrokenSealed, {
    error: 'is not a well-formed encrypted value (age:<epoch>:<base64>, as lethe new writes it)',
  });

/** A vendor identifier: any text, or a value sealed with age. */
export const SubjectIdentifier = z.string().min(1).regex(notBrokenSealed, {
  error: 'is not a well-formed encrypted value (age:<epoch>:<base64>, as lethe new writes it)',
});
