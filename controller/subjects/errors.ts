import { defineErrors } from '../errors/types.ts';

/**
 * Errors about sealed (age-encrypted) subjects, their key epochs and shredding. Messages
 * name epochs, requests, files and dates only: never a subject value, sealed or not.
 */
export const subjectErrors = defineErrors({
  SUBJECT_KEY_MISSING: {
    message: 'the controller key of epoch {epoch} is not in the secrets directory: requests sealed to it wait',
    hint: 'Restore the key from its backup (lethe epoch export) as {file} in the secrets directory; nothing is lost, the requests resume on the next pass. If the epoch was shredded on purpose, its requests can no longer be carried out: write them again with lethe new.',
  },
  SUBJECT_KEY_INVALID: {
    message: 'the key file of epoch {epoch} holds no age identity (AGE-SECRET-KEY-1...)',
    hint: 'Restore the file from its backup (lethe epoch export); the requests of the epoch wait meanwhile.',
  },
  SUBJECT_UNREADABLE: {
    message: 'request {request}: a sealed subject value does not open with the key of epoch {epoch}',
    hint: "The value was sealed to other keys, or damaged. Seal it again to the epoch's recipient (lethe new writes sealed values); the request waits and is tried again every pass.",
  },
  SUBJECT_SEALED_INVALID: {
    message: 'request {request}: a sealed email address is not a valid email address once decrypted',
    hint: 'Write the request again with lethe new (which checks the address before sealing it); the request waits meanwhile.',
  },
  EPOCH_KEY_EXISTS: {
    message: 'a key for epoch {epoch} already exists ({file})',
    hint: 'Epoch keys are never overwritten: choose a new epoch id, or keep using this one.',
    terminal: true,
  },
  EPOCH_UNKNOWN: {
    message: 'lethe.yaml declares no key epoch {epoch} under spec.subjects.epochs',
    hint: 'Name an epoch listed in lethe.yaml (lethe epoch new prints the line to add).',
    terminal: true,
  },
  SHRED_CURRENT_EPOCH: {
    message: 'epoch {epoch} is the current epoch: new requests are still sealed to it',
    hint: 'Add a newer epoch to spec.subjects.epochs in lethe.yaml (lethe epoch new), merge it, and shred this one once its requests have aged out.',
    terminal: true,
  },
  SHRED_REQUEST_OPEN: {
    message: 'epoch {epoch} cannot be shredded: request {request} is still open ({phase})',
    hint: 'Shredding destroys the only key that can read the subject: wait until every request of the epoch is Completed, Failed or Withdrawn.',
    terminal: true,
  },
  SHRED_WITHIN_RETENTION: {
    message:
      'epoch {epoch} cannot be shredded before {until}: request {request} finished on {finished} and is kept {retention}',
    hint: 'spec.subjects.retention in lethe.yaml sets how long the subject stays readable after a request is final (for audits and disputes); shred after the date shown.',
    terminal: true,
  },
  SHRED_KEY_ELSEWHERE: {
    message: 'epoch {epoch} has no key in the secrets directory {dir}',
    hint: 'Run lethe shred where the controller keeps its keys (--secrets-dir), or pass --record-only to record a shredding done by other means.',
    terminal: true,
  },
  IDENTITY_NOT_GIVEN: {
    message: 'no age identity to decrypt with',
    hint: 'Pass --identity FILE (an age identity file, as age-keygen writes it) or set LETHE_AGE_IDENTITY to its path.',
    terminal: true,
  },
  IDENTITY_CANNOT_OPEN: {
    message: 'request {request}: none of the given identities opens its sealed values (epoch {epoch})',
    hint: "Use the key listed for you under the epoch's reviewers in lethe.yaml; after an epoch is shredded its subjects cannot be read by anyone.",
    terminal: true,
  },
  SHOW_NOT_A_TERMINAL: {
    message: 'lethe show prints personal data to a terminal only, and standard output is not one',
    hint: 'Run it in an interactive terminal; pass --stdout only if you accept that the output may be captured (CI logs, files, scrollback).',
    terminal: true,
  },
});

export type SubjectErrorCode = keyof typeof subjectErrors.table;
