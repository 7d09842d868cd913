// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and tree-head checkpoints (c2sp.org/tlog-checkpoint).
// Pure apart from node:crypto (signing, hashing, key generation); no I/O, no clock.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** Signature type byte of Ed25519 keys (c2sp.org/signed-note, "Signature types"). */
const ed25519Type = 0x01;
const emDash = '\u2014';
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI), RFC 8410.
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

export class NoteError extends Error {
  override readonly name = 'NoteError';
}

/** A signer for one key name. The seed never leaves this object except through `signerKey`. */
export interface NoteSigner {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: Buffer;
  sign(message: Uint8Array): Buffer;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: Buffer;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** A checkpoint's body (c2sp.org/tlog-checkpoint): origin, tree size, root hash, optional extension lines. */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions?: string[];
}

/** A key name is non-empty and has no whitespace and no '+' (c2sp.org/signed-note, "Verifier keys"). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name "${name}": it must be non-empty, without spaces or '+'`);
}

/** Key hash: the first 4 bytes of SHA-256(key name || 0x0A || signature type || public key). */
export function computeKeyHash(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, ed25519Type])).update(publicKey).digest().subarray(0, 4);
}

/** A new Ed25519 signer key, encoded as "PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 || seed)>" (the Go note format). */
export function generateSignerKey(name: string): string {
  assertKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(pkcs8Prefix.length);
  return encodeSignerKey(name, seed);
}

function encodeSignerKey(name: string, seed: Buffer): string {
  const publicKey = rawPublicKey(createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' }));
  const material = Buffer.concat([Buffer.from([ed25519Type]), seed]).toString('base64');
  return `PRIVATE+KEY+${name}+${computeKeyHash(name, publicKey).toString('hex')}+${material}`;
}

function rawPublicKey(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(spkiPrefix.length);
}

/** Split "<name>+<hex hash>+<base64 key>" (the base64 may itself contain '+'). */
function splitKey(text: string): { name: string; hash: string; material: Buffer } {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new NoteError('malformed key: expected "<name>+<hex key hash>+<base64 key>"');
  const name = text.slice(0, first);
  const hash = text.slice(first + 1, second);
  const encoded = text.slice(second + 1);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(hash) || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new NoteError('malformed key: expected "<name>+<8 hex digits>+<base64 key>"');
  }
  return { name, hash, material: Buffer.from(encoded, 'base64') };
}

/** Parse a signer key ("PRIVATE+KEY+…") into a signer; checks the embedded key hash. */
export function parseSignerKey(text: string): NoteSigner {
  if (!text.startsWith('PRIVATE+KEY+')) throw new NoteError('malformed signer key: it must start with "PRIVATE+KEY+"');
  const { name, hash, material } = splitKey(text.slice('PRIVATE+KEY+'.length).trim());
  if (material.length !== 33 || material[0] !== ed25519Type) throw new NoteError('unsupported signer key: only Ed25519 (type 0x01) is supported');
  const privateKey = createPrivateKey({ key: Buffer.concat([pkcs8Prefix, material.subarray(1)]), format: 'der', type: 'pkcs8' });
  const publicKey = rawPublicKey(privateKey);
  const keyHash = computeKeyHash(name, publicKey);
  if (keyHash.toString('hex') !== hash) throw new NoteError('signer key hash does not match its name and key');
  return {
    name,
    keyHash,
    publicKey,
    sign: (message) => sign(null, message, privateKey),
  };
}

/** The verifier key string "<name>+<hex key hash>+<base64(0x01 || public key)>" that others use to check signatures. */
export function verifierKeyOf(signer: Pick<NoteSigner, 'name' | 'keyHash' | 'publicKey'>): string {
  const material = Buffer.concat([Buffer.from([ed25519Type]), signer.publicKey]).toString('base64');
  return `${signer.name}+${signer.keyHash.toString('hex')}+${material}`;
}

/** Parse a verifier key string; checks that the key hash matches the name and key. */
export function parseVerifierKey(text: string): NoteVerifier {
  const { name, hash, material } = splitKey(text.trim());
  if (material.length !== 33 || material[0] !== ed25519Type) throw new NoteError('unsupported verifier key: only Ed25519 (type 0x01) is supported');
  const publicKey = material.subarray(1);
  const keyHash = computeKeyHash(name, publicKey);
  if (keyHash.toString('hex') !== hash) throw new NoteError('verifier key hash does not match its name and key');
  const keyObject = createPublicKey({ key: Buffer.concat([spkiPrefix, publicKey]), format: 'der', type: 'spki' });
  return {
    name,
    keyHash,
    publicKey,
    verify: (message, signature) => signature.length === 64 && verify(null, message, keyObject, signature),
  };
}

/** Sign a note's text (non-empty, ending in a newline): text, a blank line, then "— <name> <base64(key hash || signature)>". */
export function signNote(text: string, signer: NoteSigner): string {
  assertNoteText(text);
  const signature = signer.sign(Buffer.from(text, 'utf8'));
  return `${text}\n${emDash} ${signer.name} ${Buffer.concat([signer.keyHash, signature]).toString('base64')}\n`;
}

function assertNoteText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new NoteError('note text must be non-empty and end with a newline');
  if (text.includes('\n\n')) throw new NoteError('note text must not contain a blank line');
  if (/[\u0000-\u0009\u000b-\u001f]/u.test(text)) throw new NoteError('note text must not contain control characters');
}

export interface NoteSignature {
  name: string;
  keyHash: Buffer;
  signature: Buffer;
}

/** Split a signed note into its text and signature lines, without checking signatures. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note: no blank line between the text and the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('malformed note: the signature block must end with a newline');
  const signatures = block
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
      if (match === null) throw new NoteError(`malformed signature line "${line.slice(0, 80)}"`);
      const bytes = Buffer.from(match[2], 'base64');
      if (bytes.length < 5) throw new NoteError(`signature of "${match[1]}" is too short`);
      return { name: match[1], keyHash: bytes.subarray(0, 4), signature: bytes.subarray(4) };
    });
  assertNoteText(text);
  return { text, signatures };
}

/**
 * Check that `note` carries a valid signature by `verifier` and return its text. Throws NoteError when there is no
 * signature by that key, or when a signature that claims to be by that key does not verify.
 */
export function openNote(note: string, verifier: NoteVerifier): string {
  const { text, signatures } = parseNote(note);
  const message = Buffer.from(text, 'utf8');
  const claimed = signatures.filter((signature) => signature.name === verifier.name && signature.keyHash.equals(verifier.keyHash));
  if (claimed.length === 0) throw new NoteError(`the note has no signature by key "${verifier.name}"`);
  for (const signature of claimed) {
    if (!verifier.verify(message, signature.signature)) throw new NoteError(`the signature by key "${verifier.name}" does not verify: the note was altered`);
  }
  return text;
}

/** A checkpoint body: "<origin>\n<size>\n<base64 root hash>\n" plus optional extension lines. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (checkpoint.origin.length === 0 || checkpoint.origin.includes('\n')) throw new NoteError('checkpoint origin must be one non-empty line');
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) throw new NoteError('checkpoint size must be a non-negative integer');
  if (checkpoint.rootHash.length !== 32) throw new NoteError('checkpoint root hash must be 32 bytes');
  const extensions = (checkpoint.extensions ?? []).map((line) => `${line}\n`).join('');
  return `${checkpoint.origin}\n${checkpoint.size}\n${checkpoint.rootHash.toString('base64')}\n${extensions}`;
}

/** Parse a checkpoint body (the note text, not the signatures). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new NoteError('malformed checkpoint: expected origin, size and root hash lines');
  const [origin, sizeText, rootText, ...rest] = lines.slice(0, -1);
  if (origin.length === 0) throw new NoteError('malformed checkpoint: empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new NoteError(`malformed checkpoint: bad tree size "${sizeText}"`);
  const rootHash = Buffer.from(rootText, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== rootText) throw new NoteError('malformed checkpoint: root hash is not base64 of 32 bytes');
  if (rest.some((line) => line.length === 0)) throw new NoteError('malformed checkpoint: empty extension line');
  return { origin, size: Number(sizeText), rootHash, ...(rest.length > 0 ? { extensions: rest } : {}) };
}

/** The signed checkpoint note. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(checkpoint), signer);
}

/**
 * Verify a signed checkpoint with a verifier key (string or parsed) and return its body. When `origin` is given the
 * checkpoint must carry it. Throws NoteError naming what failed.
 */
export function verifyCheckpoint(note: string, verifierKey: string | NoteVerifier, origin?: string): Checkpoint {
  const verifier = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const checkpoint = parseCheckpoint(openNote(note, verifier));
  if (origin !== undefined && checkpoint.origin !== origin) throw new NoteError(`checkpoint origin "${checkpoint.origin}" is not "${origin}"`);
  return checkpoint;
}
