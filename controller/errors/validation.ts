import { defineErrors } from './types.ts';

/**
 * Every problem `lethe validate` (and the reconcile pass) can report about a manifest.
 * Messages are templates filled with field paths, file paths, vendor and request names
 * only: never with values from the manifest, which may be personal data or secrets.
 */
export const validationErrors = defineErrors({
  YAML_SYNTAX: {
    message: 'YAML syntax error: {detail}',
    hint: 'Fix the YAML syntax at this position; a YAML linter or the editor schema shows the exact spot.',
  },
  FILE_TOO_LARGE: {
    message: 'the file is {size} bytes; manifests are limited to {limit} bytes',
    hint: 'A manifest describes one request or vendor; split large content or remove pasted data.',
  },
  ALIAS_LIMIT: {
    message: 'the document expands more than {limit} YAML aliases',
    hint: 'Write the values out instead of using anchors (&) and aliases (*); heavy alias use is how "billion laughs" attacks work.',
  },
  MULTIPLE_DOCUMENTS: {
    message: 'the file holds several YAML documents; one manifest per file',
    hint: 'Move each document ("---" separated) into its own file named after its metadata.name.',
  },
  EMPTY_MANIFEST: {
    message: 'the file is empty',
    hint: 'Write a manifest (apiVersion, kind, metadata, spec), or delete the file.',
  },
  NOT_A_MAPPING: {
    message: 'the top level must be a mapping (apiVersion, kind, metadata, spec), not {found}',
    hint: 'Start the file with "apiVersion: lethe/v1" at column 1, followed by kind, metadata and spec.',
  },
  FORBIDDEN_KEY: {
    message: '{path}: the key "{key}" is not allowed',
    hint: 'Keys named __proto__, constructor or prototype are rejected everywhere, because they can alter objects in JavaScript; rename the key.',
  },
  WRONG_API_VERSION: {
    message: 'apiVersion: {detail}',
    hint: 'Write "apiVersion: lethe/v1".',
  },
  WRONG_KIND: {
    message: 'kind: expected {expected} for a file in {place}',
    hint: 'lethe.yaml holds the LetheConfig, vendors/ holds VendorConnection files and requests/ holds PrivacyRequest files.',
  },
  MISSING_FIELD: {
    message: '{path}: is required',
    hint: 'Add the field; `lethe schema` exports the JSON Schema your editor can use to complete it.',
  },
  UNKNOWN_FIELD: {
    message: '{path}: unknown field "{key}"',
    hint: 'Remove the field or fix its spelling; the manifest reference in the README lists every field.',
  },
  INVALID_TYPE: {
    message: '{path}: {detail}',
    hint: 'Check the type of the value (text, number, list or mapping) against the manifest reference.',
  },
  INVALID_VALUE: {
    message: '{path}: {detail}',
    hint: 'Use one of the allowed values listed in the manifest reference.',
  },
  INVALID_FORMAT: {
    message: '{path}: {detail}',
    hint: 'Check the format of the value against the manifest reference.',
  },
  OUT_OF_RANGE: {
    message: '{path}: {detail}',
    hint: 'Check the size limits of the value against the manifest reference.',
  },
  UNKNOWN_VENDOR_TYPE: {
    message: '{path}: {detail}',
    hint: 'spec.type names the driver: one of the types the message lists (docs/reference/vendors.md describes each).',
  },
  INLINE_CREDENTIAL: {
    message: '{path}: a credential must be a reference "env:NAME" or "file:PATH", not the secret itself',
    hint: 'Remove the secret from the file (and from git history: rotate it, it has been exposed), store it in an environment variable or file, and write env:NAME or file:PATH here.',
  },
  INVALID_DATE: {
    message: '{path}: {detail}',
    hint: 'Write the date as a quoted string, for example receivedAt: "2026-11-20" (a real calendar day, UTC); unquoted dates become date objects in YAML 1.1 tools such as PyYAML.',
  },
  CREDENTIAL_REF_MALFORMED: {
    message: '{path}: this looks like a credential reference with a typo, not a secret',
    hint: 'Write it as "{fixed}": lowercase env: or file:, no space, and a variable name of letters, digits and "_".',
  },
  MISPLACED_MANIFEST: {
    message: 'this file is a {kind}, but Lethe reads {kind} manifests only from {place}: it is ignored',
    hint: 'Move it where Lethe reads it: git mv {path} {target} (requests go under requests/, as lethe new places them in requests/YYYY/MM/; vendors directly in vendors/; the config is lethe.yaml at the top). Until then nothing is done for it.',
  },
  CREDENTIAL_REF_REFUSED: {
    message: '{path}: {detail}',
    hint: "Name a variable of the vendor's own (not LETHE_*), or a file in the controller's secrets directory (file:NAME, relative to --secrets-dir / LETHE_SECRETS_DIR / $CREDENTIALS_DIRECTORY / <data dir>/secrets). Only this connection waits until it is fixed.",
  },
  NAME_MISMATCH: {
    message: 'metadata.name "{name}" does not match the file name "{expected}"',
    hint: 'Rename the file to <metadata.name>.yaml, or change metadata.name to match the file name.',
  },
  DUPLICATE_NAME: {
    message: 'metadata.name "{name}" is also used by {other}',
    hint: 'Names are unique per kind: rename one of the two manifests (file and metadata.name).',
  },
  CONFIG_MISSING: {
    message: 'lethe.yaml is missing',
    hint: 'Create lethe.yaml at the repository root (kind: LetheConfig) with at least the approval policy.',
  },
  UNKNOWN_VENDOR: {
    message: '{path}: no vendor named "{vendor}" in vendors/',
    hint: 'Name a vendor that has a file vendors/<name>.yaml, or write "vendors: all".',
  },
  VENDOR_INVALID: {
    message: '{path}: vendor "{vendor}" is invalid (see {file})',
    hint: 'Fix the vendor connection first; the request waits until every vendor it names is valid.',
  },
  VENDOR_ACTION_UNSUPPORTED: {
    message: '{path}: vendor "{vendor}" ({type}) cannot perform {action} requests',
    hint: 'Remove the vendor from this request, or handle this action with the vendor by another channel.',
  },
  NO_VENDOR_FOR_ACTION: {
    message: 'spec.vendors: "all" selects no vendor, since none supports {action} requests',
    hint: 'Add a vendor connection that supports the action, or name vendors explicitly.',
  },
  UNKNOWN_IDENTIFIER_KEY: {
    message: '{path}: vendor "{vendor}" ({type}) does not read an identifier "{key}"',
    hint: 'Identifiers this driver reads: {allowed}.',
  },
  IDENTIFIER_VENDOR_NOT_IN_REQUEST: {
    message: '{path}: identifiers are given for vendor "{vendor}", which this request does not address',
    hint: 'Add the vendor to spec.vendors, or remove its identifiers.',
  },
  SUBJECT_NOT_ENCRYPTED: {
    message: '{path}: is not encrypted, and lethe.yaml requires encrypted subjects (spec.subjects.requireEncryption)',
    hint: 'Write the request with lethe new, which seals every email and identifier to the current key epoch; a plain value already committed stays in git history, so treat it as exposed.',
  },
  SUBJECT_EPOCH_UNKNOWN: {
    message: '{path}: sealed to key epoch "{epoch}", which lethe.yaml does not declare under spec.subjects.epochs',
    hint: 'Seal the value again to a declared epoch (lethe new uses the current one), or declare the epoch in lethe.yaml.',
  },
  SUBJECT_EPOCH_MIXED: {
    message: '{path}: sealed to key epoch "{epoch}", while the request\'s first sealed value uses "{first}"',
    hint: 'Seal every value of one request to the same epoch (lethe new does), so that shredding the epoch forgets the whole subject.',
  },
});

export type ValidationCode = keyof typeof validationErrors.table;
