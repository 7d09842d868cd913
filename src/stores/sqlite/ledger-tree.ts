// The SQLite ledger's tree reads: subtrees of 2^4 leaves and more are stored, smaller ones are hashed from the leaves.
import type { Statement } from 'better-sqlite3';
import { hashChildren, toHex, type Hash, type NodeReader } from '../../core/merkle.js';
import type { TreeNode } from '../../ledger/types.js';

/**
 * Lowest level of the interior subtrees kept in ledger_nodes (migration ledger-003). An append closes one subtree per
 * level on average; storing only levels >= 4 writes one node per 8 appends, and a node below costs one range read of
 * at most 8 leaf hashes and 7 hashes. Raising it later is safe (stored nodes below it are ignored); lowering it needs a
 * migration that stores the levels the log was written without.
 */
export const lowestStoredLevel = 4;

export interface TreeStatements {
  /** seq → leaf_hash (plucked). */
  leafHash: Statement;
  /** leaf_hash of seq in [from, to), in seq order (plucked). */
  leafHashesIn: Statement;
  /** { index: seq, hash: leaf_hash } of seq in [from, to), in seq order. */
  leavesFrom: Statement;
  /** (level, idx) → hash (plucked). */
  nodeHash: Statement;
}

/** Node reads of the SQLite tree; throws when a stored node, or an entry below a computed one, is missing. */
export function sqliteTreeReader(statements: TreeStatements): NodeReader {
  return {
    node(level, index) {
      if (level === 0) return found(statements.leafHash.get(index) as Buffer | undefined, level, index);
      if (level >= lowestStoredLevel) return found(statements.nodeHash.get(level, index) as Buffer | undefined, level, index);
      const width = 2 ** level;
      const first = index * width;
      const leaves = statements.leafHashesIn.all(first, first + width) as Buffer[];
      if (leaves.length !== width) {
        let missing = first;
        for (const leaf of statements.leavesFrom.all(first, first + width) as { index: number }[]) {
          if (leaf.index !== missing) break;
          missing += 1;
        }
        throw new Error(`ledger is missing tree node (level ${level}, index ${index}): entry ${missing} is missing`);
      }
      return hashUp(leaves);
    },
  };
}

function found(hash: Buffer | undefined, level: number, index: number): Hash {
  if (hash === undefined) throw new Error(`ledger is missing tree node (level ${level}, index ${index})`);
  return hash;
}

/**
 * The nodes of `level` (below lowestStoredLevel) over leaves given in increasing index, for treeNodes: only nodes whose
 * leaves are all present, as a stored level holds only complete subtrees.
 */
export function computedNodes(leaves: readonly { index: number; hash: Hash }[], level: number): TreeNode[] {
  const width = 2 ** level;
  const nodes: TreeNode[] = [];
  let group: Hash[] = [];
  let groupIndex = -1;
  for (const leaf of leaves) {
    const nodeIndex = Math.floor(leaf.index / width);
    if (nodeIndex !== groupIndex) {
      group = [];
      groupIndex = nodeIndex;
    }
    group.push(leaf.hash);
    // Indices are distinct, so a full group is the whole aligned range.
    if (group.length === width) nodes.push({ index: nodeIndex, hash: toHex(hashUp(group)) });
  }
  return nodes;
}

/** MTH of a power-of-two number of leaf hashes, pairing neighbours level by level (overwrites the array). */
function hashUp(hashes: Hash[]): Hash {
  for (let width = hashes.length; width > 1; width /= 2) {
    for (let position = 0; position < width / 2; position += 1) hashes[position] = hashChildren(hashes[2 * position], hashes[2 * position + 1]);
  }
  return hashes[0];
}
