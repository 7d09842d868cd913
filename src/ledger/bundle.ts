// Evidence bundles: entries with inclusion proofs against one signed checkpoint, verifiable offline with the public key.
import { NoteError, parseVerifierKey, verifyCheckpoint } from '../core/checkpoint.js';
import { hashLeaf, toHex, verifyInclusion } from '../core/merkle.js';
import { referenceCanonicalJson } from './entry.js';
import { LedgerQueryError } from './errors.js';
import type { LedgerEntry, LedgerStore } from './types.js';

export const bundleFormat = 'covenant.ledger-bundle/v1';

export interface BundleEntry {
  seq: number;
  entry: LedgerEntry;
  /** Hex leaf hash, SHA-256(0x00 || JCS(entry)); recomputed by the verifier. */
  leaf_hash: string;
  /** Hex audit path against the checkpoint's tree, RFC 9162 §2.1.3. */
  inclusion_path: string[];
}

export interface LedgerBundle {
  format: typeof bundleFormat;
  origin: string;
  /** Verifier key of the log; an auditor should compare it with the key published out of band. */
  public_key: string;
  /** The C2SP signed checkpoint note every proof is against. */
  checkpoint: string;
  tree_size: number;
  root_hash: string;
  filter: { since?: string; department?: string };
  entries: BundleEntry[];
}

export interface ExportOptions {
  since?: Date;
  /** Only this department's entries (a department auditor's export); proofs are still against the full tree. */
  department?: string;
}

/** Collect entries (filtered) with inclusion proofs against the latest checkpoint (a writable store signs one first). */
export async function exportBundle(store: LedgerStore, options: ExportOptions = {}): Promise<LedgerBundle> {
  const checkpoint = await store.checkpoint();
  if (checkpoint === undefined) throw new LedgerQueryError('the ledger has no signed checkpoint yet: there is nothing to export');
  const entries: BundleEntry[] = [];
  let from = 0;
  const pageSize = 1000;
  for (;;) {
    const page = await store.entries({ from, limit: pageSize, department: options.department, since: options.since });
    const covered = page.filter((stored) => stored.seq < checkpoint.size);
    for (const stored of covered) {
      const proof = await store.inclusionProof(stored.seq, checkpoint.size);
      entries.push({ seq: stored.seq, entry: stored.entry, leaf_hash: stored.leafHash, inclusion_path: proof.inclusion_path });
    }
    if (page.length < pageSize || covered.length < page.length) break;
    from = page[page.length - 1].seq + 1;
  }
  return {
    format: bundleFormat,
    origin: store.origin,
    public_key: await store.publicKey(),
    checkpoint: checkpoint.note,
    tree_size: checkpoint.size,
    root_hash: checkpoint.rootHash,
    filter: {
      ...(options.since === undefined ? {} : { since: options.since.toISOString() }),
      ...(options.department === undefined ? {} : { department: options.department }),
    },
    entries,
  };
}

/** The file is not a bundle at all (exit 2), as opposed to a bundle that fails verification (exit 1). */
export class BundleFormatError extends Error {
  override readonly name = 'BundleFormatError';
}

export type BundleVerification =
  | { ok: true; size: number; rootHash: string; entries: number }
  | { ok: false; firstBadSeq: number | null; reason: string };

const hexHash = /^[0-9a-f]{64}$/;

/**
 * Verify a bundle offline: the checkpoint's signature (with `publicKey` when given, else the bundle's own key), then
 * each entry's leaf hash and inclusion proof against the signed root. Names the first entry that fails.
 */
export function verifyBundle(bundle: unknown, options: { publicKey?: string } = {}): BundleVerification {
  const parsed = typeof bundle === 'string' ? parseJson(bundle) : bundle;
  const candidate = parsed as Partial<LedgerBundle>;
  if (candidate === null || typeof candidate !== 'object' || candidate.format !== bundleFormat) {
    throw new BundleFormatError(`not a ledger bundle: expected "format": "${bundleFormat}"`);
  }
  if (typeof candidate.checkpoint !== 'string' || typeof candidate.public_key !== 'string' || !Array.isArray(candidate.entries)) {
    throw new BundleFormatError('not a ledger bundle: "checkpoint", "public_key" and "entries" are required');
  }
  const fail = (firstBadSeq: number | null, reason: string): BundleVerification => ({ ok: false, firstBadSeq, reason });
  let checkpoint;
  try {
    const verifier = parseVerifierKey(options.publicKey ?? candidate.public_key);
    checkpoint = verifyCheckpoint(candidate.checkpoint, verifier, candidate.origin);
  } catch (error) {
    if (error instanceof NoteError) return fail(null, `the checkpoint does not verify: ${error.message}`);
    throw error;
  }
  const rootHash = toHex(checkpoint.rootHash);
  if (candidate.tree_size !== checkpoint.size || candidate.root_hash !== rootHash) {
    return fail(null, `the bundle's tree_size/root_hash differ from its signed checkpoint (size ${checkpoint.size}, root ${rootHash})`);
  }
  let previous = -1;
  for (const item of candidate.entries as unknown[]) {
    const bundled = item as Partial<BundleEntry>;
    const seq = typeof bundled?.seq === 'number' ? bundled.seq : null;
    if (seq === null || !Number.isSafeInteger(seq) || seq <= previous) return fail(seq, `an entry after ${previous} has a missing or out-of-order "seq"`);
    previous = seq;
    if (bundled.entry === null || typeof bundled.entry !== 'object' || bundled.entry.seq !== seq) {
      return fail(seq, `entry ${seq}: its "seq" field does not match`);
    }
    if (candidate.filter?.department !== undefined && bundled.entry.department !== candidate.filter.department) {
      return fail(seq, `entry ${seq} is not in department "${candidate.filter.department}" that the bundle is limited to`);
    }
    const path = bundled.inclusion_path;
    if (!Array.isArray(path) || !path.every((hash) => typeof hash === 'string' && hexHash.test(hash))) {
      return fail(seq, `entry ${seq}: its inclusion path is malformed`);
    }
    let leaf: Uint8Array;
    try {
      leaf = hashLeaf(referenceCanonicalJson(bundled.entry));
    } catch {
      return fail(seq, `entry ${seq} cannot be canonicalised`);
    }
    if (bundled.leaf_hash !== undefined && bundled.leaf_hash !== toHex(leaf)) return fail(seq, `entry ${seq} does not match its leaf hash: the entry was altered`);
    const proof = path.map((hash) => Buffer.from(hash, 'hex'));
    if (!verifyInclusion(seq, checkpoint.size, leaf, proof, checkpoint.rootHash)) {
      return fail(seq, `entry ${seq} is not proven in the signed tree of size ${checkpoint.size}: the entry or its proof was altered`);
    }
  }
  return { ok: true, size: checkpoint.size, rootHash, entries: candidate.entries.length };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BundleFormatError(`the bundle is not valid JSON: ${(error as Error).message}`);
  }
}
