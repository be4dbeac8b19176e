import { Decrypter, Encrypter } from 'age-encryption';
import { z } from 'zod';
import { SEALED_PREFIX, SEALED_VALUE, sealedEpoch, type KeyEpoch, type SubjectsPolicy } from '../../specs/index.ts';
import { subjectErrors } from './errors.ts';

/** The personal data of a request, as `lethe new` takes it and the controller hands it to drivers. */
export interface SubjectFields {
  emails: string[];
  identifiers?: Record<string, Record<string, string>>;
}

/** Seals one value to the epoch's controller key and its reviewers: `age:<epoch>:<base64>`. */
export async function sealValue(plain: string, epoch: KeyEpoch): Promise<string> {
  const e = new Encrypter();
  e.addRecipient(epoch.recipient);
  for (const r of epoch.reviewers ?? []) e.addRecipient(r.recipient);
  return `${SEALED_PREFIX}${epoch.id}:${Buffer.from(await e.encrypt(plain)).toString('base64')}`;
}

/** The current epoch: the last one lethe.yaml lists, or none when encryption is not configured. */
export function currentEpoch(policy: SubjectsPolicy | undefined): KeyEpoch | undefined {
  return policy?.epochs.at(-1);
}

const mapValues = async (subject: SubjectFields, f: (value: string) => Promise<string>): Promise<SubjectFields> => {
  const emails = await Promise.all(subject.emails.map(f));
  if (subject.identifiers === undefined) return { emails };
  const identifiers: Record<string, Record<string, string>> = {};
  for (const [vendor, keys] of Object.entries(subject.identifiers)) {
    identifiers[vendor] = Object.fromEntries(
      await Promise.all(Object.entries(keys).map(async ([k, v]) => [k, await f(v)] as const)),
    );
  }
  return { emails, identifiers };
};

/**
 * What `lethe new` writes: every plain email and identifier sealed to the current epoch
 * (values already sealed are kept). Unchanged when lethe.yaml configures no epoch.
 */
export async function encryptSubject(
  subject: SubjectFields,
  policy: SubjectsPolicy | undefined,
): Promise<SubjectFields> {
  const epoch = currentEpoch(policy);
  if (!epoch) return subject;
  return mapValues(subject, async (v) => (SEALED_VALUE.test(v) ? v : sealValue(v, epoch)));
}

/** Every value of a subject, with its display path (for validation and scans). */
export function subjectValues(subject: SubjectFields): Array<{ path: Array<string | number>; value: string }> {
  const out: Array<{ path: Array<string | number>; value: string }> = subject.emails.map((value, i) => ({
    path: ['spec', 'subject', 'emails', i],
    value,
  }));
  for (const [vendor, keys] of Object.entries(subject.identifiers ?? {})) {
    for (const [k, value] of Object.entries(keys))
      out.push({ path: ['spec', 'subject', 'identifiers', vendor, k], value });
  }
  return out;
}

/** The epochs a subject's sealed values name, sorted (one, when lethe validate passed). */
export function subjectEpochs(subject: SubjectFields): string[] {
  return [
    ...new Set(
      subjectValues(subject)
        .map((v) => sealedEpoch(v.value))
        .filter((e): e is string => e !== undefined),
    ),
  ].sort();
}

export function isSealedSubject(subject: SubjectFields): boolean {
  return subjectEpochs(subject).length > 0;
}

const Email = z.email();

/**
 * Opens every sealed value of a request's subject with the identities `identitiesFor`
 * gives for its epoch. Throws a catalogue error naming the request and epoch only: a
 * value never reaches a message, and no partial result escapes.
 */
export async function decryptSubject(
  request: string,
  subject: SubjectFields,
  identitiesFor: (epoch: string) => Promise<string[]>,
): Promise<SubjectFields> {
  const decrypters = new Map<string, Decrypter>();
  const open = async (value: string): Promise<string> => {
    const m = SEALED_VALUE.exec(value);
    if (!m) return value;
    const epoch = m[1]!;
    let d = decrypters.get(epoch);
    if (!d) {
      const identities = await identitiesFor(epoch);
      if (identities.length === 0)
        throw subjectErrors.error('SUBJECT_KEY_MISSING', { epoch, file: epochKeyFileName(epoch) });
      d = new Decrypter();
      for (const id of identities) d.addIdentity(id);
      decrypters.set(epoch, d);
    }
    try {
      return await d.decrypt(Buffer.from(m[2]!, 'base64'), 'text');
    } catch {
      // age's own message names no value, but says nothing useful either: the code does.
      throw subjectErrors.error('SUBJECT_UNREADABLE', { request, epoch });
    }
  };
  const opened = await mapValues(subject, open);
  if (opened.emails.some((e) => !Email.safeParse(e).success))
    throw subjectErrors.error('SUBJECT_SEALED_INVALID', { request });
  return opened;
}

/** The key file of an epoch, inside the secrets directory. */
export function epochKeyFileName(epoch: string): string {
  return `subject-epoch-${epoch}.key`;
}
