// RFC 9162 inclusion proofs checked in the browser with Web Crypto: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).
import canonicalizeModule from 'canonicalize';

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

async function sha256(parts: Uint8Array[]): Promise<Uint8Array> {
  const length = parts.reduce((total, part) => total + part.length, 0);
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

export function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index += 1) bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The leaf hash of a ledger entry: SHA-256(0x00 || RFC 8785 canonical JSON of the entry). */
export async function leafHash(entry: unknown): Promise<Uint8Array> {
  const text = canonicalize(entry);
  if (text === undefined) throw new Error('the entry cannot be canonicalised');
  return sha256([new Uint8Array([0]), new TextEncoder().encode(text)]);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256([new Uint8Array([1]), left, right]);
}

/** RFC 9162 §2.1.3.2: the root an inclusion path leads to, or undefined when the path does not fit the tree. */
export async function rootFromInclusion(index: number, size: number, leaf: Uint8Array, path: Uint8Array[]): Promise<Uint8Array | undefined> {
  if (index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let hash = leaf;
  for (const sibling of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      hash = await nodeHash(sibling, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      hash = await nodeHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? hash : undefined;
}

export interface InclusionProof { leaf_index: number; tree_size: number; leaf_hash: string; inclusion_path: string[]; root_hash: string; entry: unknown }

/** Whether the entry hashes to its leaf and the path leads from that leaf to `expectedRoot`; with a reason when not. */
export async function verifyInclusion(proof: InclusionProof, expectedRoot: string): Promise<{ ok: boolean; detail: string }> {
  const leaf = await leafHash(proof.entry);
  if (toHex(leaf) !== proof.leaf_hash) return { ok: false, detail: 'The entry does not hash to its leaf: it was altered.' };
  const root = await rootFromInclusion(proof.leaf_index, proof.tree_size, leaf, proof.inclusion_path.map(fromHex));
  if (!root) return { ok: false, detail: 'The inclusion path does not fit a tree of this size.' };
  if (toHex(root) !== expectedRoot) return { ok: false, detail: `The path leads to root ${toHex(root).slice(0, 16)}…, not ${expectedRoot.slice(0, 16)}…` };
  return { ok: true, detail: `Entry ${proof.leaf_index} is in the tree of size ${proof.tree_size} with root ${expectedRoot.slice(0, 16)}… (computed in this browser).` };
}
