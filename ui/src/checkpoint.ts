// Signed checkpoints checked in the browser: the note's Ed25519 signature with Web Crypto (c2sp.org/signed-note), then the tree size and root it signs (c2sp.org/tlog-checkpoint).
import { toHex } from './merkle';

export interface SignatureCheck {
  ok: boolean;
  detail: string;
  /** True when this browser's Web Crypto has no Ed25519: the signature was not checked at all. */
  unsupported?: boolean;
}

type Bytes = Uint8Array<ArrayBuffer>;
interface VerifierKey { name: string; keyHash: Bytes; publicKey: Bytes }
interface NoteSignature { name: string; keyHash: Bytes; signature: Bytes }

/** Signature type byte of Ed25519 keys (c2sp.org/signed-note, "Signature types"). */
const ed25519Type = 0x01;

function fromBase64(text: string): Bytes {
  const binary = atob(text);
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

const equalBytes = (left: Uint8Array, right: Uint8Array) => left.length === right.length && left.every((byte, index) => byte === right[index]);

/** A key hash: the first 4 bytes of SHA-256(key name || 0x0A || signature type || public key). */
async function keyHashOf(name: string, publicKey: Bytes): Promise<Bytes> {
  const nameBytes = new TextEncoder().encode(name);
  const joined = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  joined.set(nameBytes);
  joined.set([0x0a, ed25519Type], nameBytes.length);
  joined.set(publicKey, nameBytes.length + 2);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined)).slice(0, 4);
}

/** "<name>+<hex key hash>+<base64(0x01 || public key)>", its hash checked against its name and key. */
async function parseVerifierKey(text: string): Promise<VerifierKey> {
  const match = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!match) throw new Error('The verifier key is not "<name>+<key hash>+<base64 key>".');
  const material = fromBase64(match[3]!);
  if (material.length !== 33 || material[0] !== ed25519Type) throw new Error('The verifier key is not an Ed25519 key.');
  const publicKey = material.slice(1);
  if (toHex(await keyHashOf(match[1]!, publicKey)) !== match[2]) throw new Error('The verifier key\'s hash does not match its name and key.');
  return { name: match[1]!, keyHash: fromHex8(match[2]!), publicKey };
}

function fromHex8(hex: string): Bytes {
  return Uint8Array.from({ length: 4 }, (_, index) => parseInt(hex.slice(index * 2, index * 2 + 2), 16));
}

/** The note's text (up to and including the last newline before the blank line) and its signature lines. */
function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('The checkpoint is not a signed note.');
  const signatures = note.slice(split + 2, -1).split('\n').map((line) => {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!match) throw new Error('The checkpoint has a malformed signature line.');
    const bytes = fromBase64(match[2]!);
    return { name: match[1]!, keyHash: bytes.slice(0, 4), signature: bytes.slice(4) };
  });
  return { text: note.slice(0, split + 1), signatures };
}

/**
 * Whether `note` carries a valid Ed25519 signature by `verifierKey` and signs a tree of `expected.size` entries with
 * root `expected.rootHash` (hex): the tree an inclusion proof was checked against. `subtle` is the browser's Web Crypto.
 */
export async function verifyCheckpointSignature(
  note: string, verifierKey: string, expected: { size: number; rootHash: string }, subtle: SubtleCrypto = crypto.subtle,
): Promise<SignatureCheck> {
  let key: VerifierKey;
  let parsed: ReturnType<typeof parseNote>;
  try {
    key = await parseVerifierKey(verifierKey);
    parsed = parseNote(note);
  } catch (failure) {
    return { ok: false, detail: (failure as Error).message };
  }
  const claimed = parsed.signatures.filter((signature) => signature.name === key.name && equalBytes(signature.keyHash, key.keyHash));
  if (claimed.length === 0) return { ok: false, detail: `The checkpoint has no signature by key ${key.name}.` };
  let cryptoKey: CryptoKey;
  try {
    cryptoKey = await subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, ['verify']);
  } catch (failure) {
    return { ok: false, unsupported: true, detail: `This browser's Web Crypto has no Ed25519 (${(failure as Error).name}): the signature was not checked.` };
  }
  const message = new TextEncoder().encode(parsed.text);
  for (const signature of claimed) {
    const valid = signature.signature.length === 64 && await subtle.verify({ name: 'Ed25519' }, cryptoKey, signature.signature, message);
    if (!valid) return { ok: false, detail: `The signature by ${key.name} does not verify: the checkpoint was altered or signed by another key.` };
  }
  const [, sizeText, rootText] = parsed.text.split('\n');
  const root = rootText === undefined ? '' : toHex(fromBase64(rootText));
  if (Number(sizeText) !== expected.size || root !== expected.rootHash) {
    return { ok: false, detail: `The signed checkpoint is of size ${sizeText} with root ${root.slice(0, 16)}…, not the tree the proof was checked against.` };
  }
  return { ok: true, detail: `The checkpoint of size ${expected.size} is signed by ${key.name}+${toHex(key.keyHash)} (Ed25519, checked in this browser).` };
}
