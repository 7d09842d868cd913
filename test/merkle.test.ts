// RFC 9162 Merkle tree: transparency-dev test vectors, the fast tree against the slow reference, and security properties.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  MemoryMerkleTree,
  MerkleFrontier,
  emptyRoot,
  hashChildren,
  hashLeaf,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from '../src/core/merkle.js';
import { referenceConsistencyProof, referenceInclusionProof, referenceRoot } from '../src/core/merkle-reference.js';
import { sharedData } from './helpers/shared-data.js';

const vectors = sharedData('merkle-vectors');

function jsonFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return jsonFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

const b64 = (text: string): Uint8Array => Buffer.from(text, 'base64');

// The 8 leaves behind the numbered vectors (see shared/data/README.md).
const vectorLeaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((hex) =>
  Buffer.from(hex, 'hex'),
);
const rootPrefixes = ['6e340b9c', 'fac54203', 'aeb6bcfe', 'd37ee418', '4e3bbb1f', '76e67dad', 'ddb89be4', '5dc9da79'];

describe('RFC 9162 test vectors (transparency-dev/merkle)', () => {
  vectors.test('verifies every inclusion case, and rejects every corrupted one', (vectorsFolder) => {
    const files = jsonFiles(join(vectorsFolder, 'inclusion'));
    expect(files.length).toBeGreaterThan(60);
    let failing = 0;
    for (const file of files) {
      const vector = JSON.parse(readFileSync(file, 'utf8'));
      const ok = verifyInclusion(vector.leafIdx, vector.treeSize, b64(vector.leafHash), (vector.proof ?? []).map(b64), b64(vector.root));
      expect({ file, ok }).toEqual({ file, ok: !vector.wantErr });
      if (vector.wantErr) failing += 1;
    }
    expect(failing).toBeGreaterThan(40);
  });

  vectors.test('verifies every consistency case, and rejects every corrupted one', (vectorsFolder) => {
    const files = jsonFiles(join(vectorsFolder, 'consistency'));
    expect(files.length).toBeGreaterThan(60);
    for (const file of files) {
      const vector = JSON.parse(readFileSync(file, 'utf8'));
      const ok = verifyConsistency(vector.size1, vector.size2, b64(vector.root1), b64(vector.root2), (vector.proof ?? []).map(b64));
      expect({ file, ok }).toEqual({ file, ok: !vector.wantErr });
    }
  });

  vectors.test('generates exactly the proofs of the happy-path vectors', (vectorsFolder) => {
    const tree = new MemoryMerkleTree();
    for (const leaf of vectorLeaves) tree.appendData(leaf);
    const files = jsonFiles(vectorsFolder).filter((file) => file.endsWith('happy-path.json'));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) {
      const vector = JSON.parse(readFileSync(file, 'utf8'));
      const proof = (vector.proof ?? []).map((text: string) => toHex(b64(text)));
      if ('leafIdx' in vector) {
        expect(tree.inclusionProof(vector.leafIdx, vector.treeSize).map(toHex)).toEqual(proof);
        expect(toHex(tree.root(vector.treeSize))).toBe(toHex(b64(vector.root)));
      } else {
        expect(tree.consistencyProof(vector.size1, vector.size2).map(toHex)).toEqual(proof);
      }
    }
  });

  it('computes the published roots of the 8-leaf tree for sizes 1..8, and the empty root', () => {
    const tree = new MemoryMerkleTree();
    vectorLeaves.forEach((leaf, position) => {
      tree.appendData(leaf);
      expect(toHex(tree.root()).slice(0, 8)).toBe(rootPrefixes[position]);
      expect(toHex(referenceRoot(vectorLeaves.slice(0, position + 1))).slice(0, 8)).toBe(rootPrefixes[position]);
    });
    expect(toHex(emptyRoot)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(new MemoryMerkleTree().root())).toBe(toHex(emptyRoot));
  });
});

// Leaves are made distinct (prefixed with their position) so that a proof for one leaf cannot match another by accident.
const leafArrays = fc
  .array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70 })
  .map((leaves) => leaves.map((leaf, position) => Buffer.concat([Buffer.from(`${position}:`), leaf])));

function buildTree(leaves: readonly Uint8Array[]): MemoryMerkleTree {
  const tree = new MemoryMerkleTree();
  for (const leaf of leaves) tree.appendData(leaf);
  return tree;
}

describe('fast tree against the RFC reference', () => {
  it('has the reference root at every size', () => {
    fc.assert(
      fc.property(leafArrays, (leaves) => {
        const tree = buildTree(leaves);
        for (let size = 0; size <= leaves.length; size += 1) {
          expect(toHex(tree.root(size))).toBe(toHex(referenceRoot(leaves.slice(0, size))));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('produces the reference inclusion proof for every index and size, and it verifies', () => {
    fc.assert(
      fc.property(leafArrays, fc.nat(), fc.nat(), (leaves, a, b) => {
        const tree = buildTree(leaves);
        const size = 1 + (a % leaves.length);
        const index = b % size;
        const proof = tree.inclusionProof(index, size);
        expect(proof.map(toHex)).toEqual(referenceInclusionProof(index, leaves.slice(0, size)).map(toHex));
        const root = tree.root(size);
        expect(verifyInclusion(index, size, hashLeaf(leaves[index]), proof, root)).toBe(true);
        // The same proof must not verify another index or a different leaf.
        if (size > 1) expect(verifyInclusion((index + 1) % size, size, hashLeaf(leaves[index]), proof, root)).toBe(false);
        expect(verifyInclusion(index, size, hashLeaf(Buffer.concat([leaves[index], Buffer.from([1])])), proof, root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('produces the reference consistency proof between any two sizes, and it verifies', () => {
    fc.assert(
      fc.property(leafArrays, fc.nat(), fc.nat(), (leaves, a, b) => {
        const tree = buildTree(leaves);
        const second = a % (leaves.length + 1);
        const first = b % (second + 1);
        const proof = tree.consistencyProof(first, second);
        expect(proof.map(toHex)).toEqual(referenceConsistencyProof(first, leaves.slice(0, second)).map(toHex));
        // RFC 9162 proves consistency only from a non-empty tree.
        expect(verifyConsistency(first, second, tree.root(first), tree.root(second), proof)).toBe(first > 0);
        if (first > 0 && first < second) {
          // A root from a different history must fail.
          const otherRoot = hashLeaf(tree.root(first));
          expect(verifyConsistency(first, second, otherRoot, tree.root(second), proof)).toBe(false);
          expect(verifyConsistency(first, second, tree.root(first), otherRoot, proof)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reloads its frontier from stored subtrees and continues with the same roots', () => {
    fc.assert(
      fc.property(leafArrays, fc.nat(), (leaves, cut) => {
        const full = buildTree(leaves);
        const at = cut % (leaves.length + 1);
        const prefix = buildTree(leaves.slice(0, at));
        const frontier = MerkleFrontier.load(prefix, at);
        for (const leaf of leaves.slice(at)) frontier.append(hashLeaf(leaf));
        expect(toHex(frontier.root())).toBe(toHex(full.root()));
      }),
      { numRuns: 100 },
    );
  });
});

describe('security properties', () => {
  it('a leaf hash never equals the node hash over the same bytes (domain separation)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (left, right) => {
        expect(toHex(hashLeaf(Buffer.concat([left, right])))).not.toBe(toHex(hashChildren(left, right)));
      }),
    );
  });

  it('hashes text leaves exactly as their UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(toHex(hashLeaf(text))).toBe(toHex(hashLeaf(Buffer.from(text, 'utf8'))));
      }),
    );
  });

  it('child order matters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (left, right) => {
        fc.pre(toHex(left) !== toHex(right));
        expect(toHex(hashChildren(left, right))).not.toBe(toHex(hashChildren(right, left)));
      }),
    );
  });

  it('a two-leaf root cannot be passed off as a leaf of a one-leaf tree', () => {
    const tree = buildTree([Buffer.from('a'), Buffer.from('b')]);
    // Second-preimage attempt: present the concatenated child hashes as a leaf's data.
    const forged = Buffer.concat([hashLeaf('a'), hashLeaf('b')]);
    expect(toHex(referenceRoot([forged]))).not.toBe(toHex(tree.root()));
  });

  it('rejects proofs with elements of the wrong length and indices outside the tree', () => {
    const tree = buildTree([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
    const proof = tree.inclusionProof(1, 3);
    expect(verifyInclusion(1, 3, hashLeaf('b'), proof, tree.root())).toBe(true);
    expect(verifyInclusion(1, 3, hashLeaf('b'), [proof[0].subarray(0, 31), proof[1]], tree.root())).toBe(false);
    expect(verifyInclusion(3, 3, hashLeaf('b'), proof, tree.root())).toBe(false);
    expect(verifyInclusion(-1, 3, hashLeaf('b'), proof, tree.root())).toBe(false);
    expect(() => tree.inclusionProof(3, 3)).toThrow(RangeError);
    expect(() => tree.consistencyProof(3, 2)).toThrow(RangeError);
  });
});
