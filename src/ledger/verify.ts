// Verifies a whole ledger from its stored entries (leaves, subtrees, roots, signed checkpoints and their consistency).
import { parseVerifierKey, verifyCheckpoint, type NoteVerifier } from '../core/checkpoint.js';
import { MerkleFrontier, fromHex, hashLeaf, toHex, verifyConsistency } from '../core/merkle.js';
import { referenceCanonicalJson } from './entry.js';
import type { LedgerStore, StoredCheckpoint } from './types.js';

export { verifyBundle } from './bundle.js';

export type VerificationResult =
  | { ok: true; size: number; rootHash: string; checkpoints: number }
  /** firstBadSeq is null when what failed is not an entry (a checkpoint's signature, a missing key). */
  | { ok: false; firstBadSeq: number | null; reason: string };

export interface VerifyLedgerOptions {
  /** A verifier key obtained out of band; default: the key stored with the ledger (which an administrator could replace). */
  verifierKey?: string;
  /** Entries read per query; default 10,000. */
  pageSize?: number;
}

class Failure extends Error {
  constructor(
    readonly firstBadSeq: number | null,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Pages through one level of stored subtree hashes in index order. */
class NodeCursor {
  private nodes = new Map<number, string>();
  private nextFetch = 0;
  constructor(
    private readonly store: LedgerStore,
    private readonly level: number,
    private readonly pageSize: number,
  ) {}

  async hash(index: number): Promise<string | undefined> {
    if (index >= this.nextFetch) {
      this.nodes = new Map((await this.store.treeNodes(this.level, index, this.pageSize)).map((node) => [node.index, node.hash]));
      this.nextFetch = index + this.pageSize;
    }
    return this.nodes.get(index);
  }
}

/** Pages through checkpoints in increasing size, checking each signature as it is read. */
class CheckpointCursor {
  private page: { size: number; rootHash: string }[] = [];
  private position = 0;
  private nextFrom = 0;
  private exhausted = false;
  count = 0;
  constructor(
    private readonly store: LedgerStore,
    private readonly verifier: NoteVerifier | undefined,
    private readonly pageSize: number,
    /** Checkpoints signed after the snapshot (larger than this) are left for the next verification. */
    private readonly maximumSize: number,
  ) {}

  async peek(): Promise<{ size: number; rootHash: string } | undefined> {
    if (this.position >= this.page.length && !this.exhausted) {
      const stored = await this.store.checkpoints({ fromSize: this.nextFrom, limit: this.pageSize });
      this.exhausted = stored.length < this.pageSize || stored[stored.length - 1].size >= this.maximumSize;
      this.page = stored.filter((checkpoint) => checkpoint.size <= this.maximumSize).map((checkpoint) => this.check(checkpoint));
      this.position = 0;
      if (stored.length > 0) this.nextFrom = stored[stored.length - 1].size + 1;
    }
    return this.page[this.position];
  }

  next(): void {
    this.position += 1;
    this.count += 1;
  }

  /** The signed note is what counts; its size and root must also agree with the stored columns. */
  private check(checkpoint: StoredCheckpoint): { size: number; rootHash: string } {
    if (this.verifier === undefined) throw new Failure(null, `checkpoint at size ${checkpoint.size} exists but the ledger has no verifier key`);
    let body;
    try {
      body = verifyCheckpoint(checkpoint.note, this.verifier, this.store.origin);
    } catch (error) {
      throw new Failure(null, `checkpoint at size ${checkpoint.size}: ${(error as Error).message}`);
    }
    if (body.size !== checkpoint.size || toHex(body.rootHash) !== checkpoint.rootHash) {
      throw new Failure(null, `checkpoint at size ${checkpoint.size}: the stored size or root differs from the signed note (size ${body.size})`);
    }
    return { size: body.size, rootHash: toHex(body.rootHash) };
  }
}

/**
 * Recompute every leaf from the stored entry JSON, every stored subtree and the root; check every checkpoint's
 * signature, that each checkpoint's root is the recomputed root at its size, and the consistency of consecutive
 * checkpoints. Returns the first bad sequence number when something does not hold.
 */
export async function verifyLedger(store: LedgerStore, options: VerifyLedgerOptions = {}): Promise<VerificationResult> {
  const pageSize = options.pageSize ?? 10_000;
  try {
    const verifierKey = options.verifierKey ?? (await store.publicKey().catch(() => undefined));
    let verifier: NoteVerifier | undefined;
    try {
      verifier = verifierKey === undefined ? undefined : parseVerifierKey(verifierKey);
    } catch (error) {
      return { ok: false, firstBadSeq: null, reason: `the verifier key is invalid: ${(error as Error).message}` };
    }
    // Verify a snapshot: a live gateway keeps appending meanwhile. The latest checkpoint is read before the head, so a
    // checkpoint larger than the head means entries were removed from the end.
    const latest = await store.latestCheckpoint();
    const head = await store.head().catch((error: Error) => {
      throw new Failure(null, `the stored tree is damaged: ${error.message}`);
    });
    if (latest !== undefined && latest.size > head.size) {
      throw new Failure(head.size, `entry ${head.size} is missing: the checkpoint at size ${latest.size} covers it but the log ends before it`);
    }
    const checkpoints = new CheckpointCursor(store, verifier, pageSize, head.size);
    const nodeCursors: NodeCursor[] = [];
    // Levels a store computes from the leaves would only repeat the leaf check.
    const lowestStoredLevel = Math.max(1, store.lowestStoredLevel ?? 1);
    const frontier = new MerkleFrontier();
    let lastGood: { size: number; rootHash: string } | undefined;
    let expected = 0;
    // Checkpoints of size 0 commit to nothing; skip them.
    while ((await checkpoints.peek())?.size === 0) checkpoints.next();
    while (expected < head.size) {
      const page = await store.entries({ from: expected, limit: Math.min(pageSize, head.size - expected) });
      if (page.length === 0) throw new Failure(expected, `entry ${expected} is missing: the log ends at ${expected} but its head says ${head.size}`);
      for (const stored of page) {
        const seq = expected;
        if (stored.seq !== seq) throw new Failure(seq, `entry ${seq} is missing (the next stored entry is ${stored.seq})`);
        const leaf = checkEntry(seq, stored.json, stored.leafHash);
        const created = frontier.append(leaf);
        for (let level = lowestStoredLevel; level < created.length; level += 1) {
          const node = created[level];
          nodeCursors[level] ??= new NodeCursor(store, level, pageSize);
          const storedHash = await nodeCursors[level].hash(node.index);
          if (storedHash !== toHex(node.hash)) {
            const first = node.index * 2 ** level;
            const entries = `entries ${first}..${first + 2 ** level - 1}`;
            if (storedHash === undefined) throw new Failure(first, `the stored tree node (level ${level}, index ${node.index}) over ${entries} is missing`);
            throw new Failure(first, `the stored tree node over ${entries} does not match them: the node, or an entry and its leaf hash, were altered`);
          }
        }
        expected += 1;
        const checkpoint = await checkpoints.peek();
        if (checkpoint !== undefined && checkpoint.size === expected) {
          const from = lastGood?.size ?? 0;
          if (toHex(frontier.root()) !== checkpoint.rootHash) {
            throw new Failure(from, `entries ${from}..${expected - 1} do not match the signed checkpoint at size ${expected}: the log was rewritten`);
          }
          if (lastGood !== undefined) await checkConsistency(store, lastGood, checkpoint);
          lastGood = checkpoint;
          checkpoints.next();
          while ((await checkpoints.peek())?.size === expected) checkpoints.next();
        }
      }
    }
    const pendingCheckpoint = await checkpoints.peek();
    if (pendingCheckpoint !== undefined) {
      throw new Failure(expected, `entry ${expected} is missing: the signed checkpoint at size ${pendingCheckpoint.size} covers it`);
    }
    const rootHash = toHex(frontier.root());
    if (head.rootHash !== rootHash) {
      throw new Failure(null, `the store's tree head (size ${head.size}, root ${head.rootHash}) differs from the recomputed one (size ${expected}, root ${rootHash})`);
    }
    return { ok: true, size: expected, rootHash, checkpoints: checkpoints.count };
  } catch (error) {
    if (error instanceof Failure) return { ok: false, firstBadSeq: error.firstBadSeq, reason: error.reason };
    throw error;
  }
}

/** The leaf hash of a stored entry, after checking the text is the canonical JSON of an entry with this seq. */
function checkEntry(seq: number, json: string, storedLeafHash: string): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Failure(seq, `entry ${seq}: the stored JSON does not parse`);
  }
  if (parsed === null || typeof parsed !== 'object' || (parsed as { seq?: unknown }).seq !== seq) {
    throw new Failure(seq, `entry ${seq}: its "seq" field does not match its position`);
  }
  if (referenceCanonicalJson(parsed) !== json) {
    throw new Failure(seq, `entry ${seq}: the stored JSON is not in RFC 8785 canonical form, so it was not written by the ledger`);
  }
  const leaf = hashLeaf(json);
  if (toHex(leaf) !== storedLeafHash) throw new Failure(seq, `entry ${seq} does not match its recorded leaf hash: the entry was altered`);
  return leaf;
}

async function checkConsistency(store: LedgerStore, first: { size: number; rootHash: string }, second: { size: number; rootHash: string }): Promise<void> {
  const proof = await store.consistencyProof(first.size, second.size).catch((error: Error) => {
    throw new Failure(first.size, `cannot prove checkpoints at sizes ${first.size} and ${second.size} consistent: ${error.message}`);
  });
  const ok = verifyConsistency(first.size, second.size, fromHex(first.rootHash), fromHex(second.rootHash), proof.consistency_path.map(fromHex));
  if (!ok) throw new Failure(first.size, `checkpoints at sizes ${first.size} and ${second.size} are not consistent`);
}
