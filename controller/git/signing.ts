import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitErrors } from './errors.ts';

/**
 * Status commits are signed with git's SSH signing (`gpg.format=ssh`, an ed25519 key) and
 * verified here, in process: an audit of 10,000 requests checks every status commit, and a
 * `ssh-keygen -Y verify` per commit would cost more than the whole `git log` walk. The
 * result is the same as `git verify-commit` with an allowed-signers file holding the key
 * (test/git/status-signing.test.ts checks they agree).
 */

/** The namespace git signs commits in (`ssh-keygen -Y sign -n git`). */
const NAMESPACE = 'git';

export interface SshPublicKey {
  /** The wire-format key blob (what `ssh-ed25519 <base64>` encodes). */
  blob: Buffer;
  /** `SHA256:...` as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** Reads `ssh-ed25519 AAAA... [comment]`; undefined for anything else. */
export function parseSshPublicKey(line: string): SshPublicKey | undefined {
  const match = /^ssh-ed25519\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/.exec(line.trim());
  if (!match) return undefined;
  const blob = Buffer.from(match[1]!, 'base64');
  const reader = new WireReader(blob);
  try {
    if (reader.string().toString('latin1') !== 'ssh-ed25519' || reader.string().length !== 32 || !reader.done())
      return undefined;
  } catch {
    return undefined;
  }
  return { blob, fingerprint: fingerprintOf(blob) };
}

export const fingerprintOf = (blob: Buffer): string =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

/**
 * Verification keys by wire blob: an audit checks thousands of commits signed by one or two
 * keys, and importing the key again for each one cost as much as the check itself.
 */
const verifiers = new Map<string, { key: KeyObject; fingerprint: string }>();

function verifierFor(keyBlob: Buffer, raw32: Buffer): { key: KeyObject; fingerprint: string } {
  const id = keyBlob.toString('base64');
  let found = verifiers.get(id);
  if (!found) {
    found = {
      key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw32.toString('base64url') }, format: 'jwk' }),
      fingerprint: fingerprintOf(keyBlob),
    };
    if (verifiers.size >= 256) verifiers.clear();
    verifiers.set(id, found);
  }
  return found;
}

class WireReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(n: number): Buffer {
    if (this.offset + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.bytes(this.uint32());
  }
  done(): boolean {
    return this.offset === this.buf.length;
  }
}

const wireString = (b: Buffer | string): Buffer => {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
};

export type SignatureCheck =
  | { status: 'none' }
  | { status: 'unsupported'; detail: string }
  | { status: 'bad'; detail: string }
  /** The signature is valid for `key`; whether `key` is the right one is the caller's question. */
  | { status: 'good'; key: SshPublicKey };

/**
 * Splits a raw commit object into the signed payload and its `gpgsig` header. The payload
 * is the object without that header (continuation lines included), as git signs it.
 */
function splitSignature(raw: Buffer): { payload: Buffer; armor: string } | undefined {
  const text = raw.toString('latin1');
  const end = text.indexOf('\n\n');
  const headerEnd = end === -1 ? text.length : end + 1;
  const start = text.lastIndexOf('\ngpgsig ', headerEnd) + 1;
  if (start === 0 && !text.startsWith('gpgsig ')) return undefined;
  let stop = text.indexOf('\n', start) + 1;
  while (stop < headerEnd && text.charAt(stop) === ' ') stop = text.indexOf('\n', stop) + 1;
  const armor = text.slice(start + 'gpgsig '.length, stop).replace(/\n /g, '\n');
  return { payload: Buffer.concat([raw.subarray(0, start), raw.subarray(stop)]), armor };
}

/** Checks the SSH signature of a raw commit object (`git cat-file commit <sha>`). */
export function checkCommitSignature(raw: Buffer): SignatureCheck {
  const parts = splitSignature(raw);
  if (!parts) return { status: 'none' };
  const armored = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(parts.armor);
  if (!armored) return { status: 'unsupported', detail: 'the signature is not an SSH signature (OpenPGP or X.509)' };
  try {
    const r = new WireReader(Buffer.from(armored[1]!.replace(/\s+/g, ''), 'base64'));
    if (r.bytes(6).toString('latin1') !== 'SSHSIG' || r.uint32() !== 1)
      return { status: 'bad', detail: 'not an SSHSIG v1 signature' };
    const keyBlob = r.string();
    const namespace = r.string().toString('latin1');
    const reserved = r.string();
    const hashAlg = r.string().toString('latin1');
    const sigBlob = new WireReader(r.string());
    const sigType = sigBlob.string().toString('latin1');
    const signature = sigBlob.string();
    if (namespace !== NAMESPACE) return { status: 'bad', detail: `signed in namespace "${namespace}", not "git"` };
    if (hashAlg !== 'sha512' && hashAlg !== 'sha256') return { status: 'bad', detail: `unknown hash ${hashAlg}` };
    const keyReader = new WireReader(keyBlob);
    const keyType = keyReader.string().toString('latin1');
    if (keyType !== 'ssh-ed25519' || sigType !== 'ssh-ed25519')
      return { status: 'unsupported', detail: `key type ${keyType}: only ssh-ed25519 is verified` };
    const raw32 = keyReader.string();
    const digest = createHash(hashAlg).update(parts.payload).digest();
    const signed = Buffer.concat([
      Buffer.from('SSHSIG', 'latin1'),
      wireString(namespace),
      wireString(reserved),
      wireString(hashAlg),
      wireString(digest),
    ]);
    const verifier = verifierFor(keyBlob, raw32);
    if (!verify(null, signed, verifier.key, signature))
      return { status: 'bad', detail: 'the signature does not match the commit (altered after signing)' };
    return { status: 'good', key: { blob: Buffer.from(keyBlob), fingerprint: verifier.fingerprint } };
  } catch {
    return { status: 'bad', detail: 'the signature cannot be decoded' };
  }
}

/** How the controller signs: git's own SSH signing with this private key file. */
export interface StatusSigner {
  keyFile: string;
  publicKey: SshPublicKey;
}

/** git options that make `commit-tree -S` sign with the signer's key and nothing else. */
export function signingArgs(signer: StatusSigner): string[] {
  return ['-c', 'gpg.format=ssh', '-c', `user.signingKey=${signer.keyFile}`, '-c', 'gpg.ssh.program=ssh-keygen'];
}

/** The file name `lethe keygen` gives the private key (the public key is `<name>.pub`). */
export const KEY_FILE_PREFIX = 'lethe-status-signing';

/**
 * Finds the private key for the declared public key among `<dir>/*.pub` files (the private
 * key is the same name without `.pub`). Several keys may sit side by side during a rotation:
 * the controller signs with whichever one lethe.yaml declares at the moment.
 */
export async function findSigner(secretsDir: string, declared: string): Promise<StatusSigner> {
  const wanted = parseSshPublicKey(declared);
  if (!wanted) {
    throw gitErrors.error('STATUS_SIGNING_KEY_INVALID');
  }
  const names = existsSync(secretsDir) ? await readdir(secretsDir) : [];
  for (const name of names.filter((n) => n.endsWith('.pub')).sort()) {
    const key = parseSshPublicKey((await readFile(join(secretsDir, name), 'utf8')).split('\n')[0] ?? '');
    const keyFile = join(secretsDir, name.slice(0, -4));
    if (key && key.blob.equals(wanted.blob) && existsSync(keyFile)) return { keyFile, publicKey: key };
  }
  throw gitErrors.error('STATUS_SIGNING_KEY_MISSING', { fingerprint: wanted.fingerprint, dir: secretsDir });
}
