// C2SP signed notes and checkpoints: the published Go/C2SP known-answer vectors, round trips, and tampering.
import { describe, expect, it } from 'vitest';
import {
  NoteError,
  computeKeyHash,
  formatCheckpoint,
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifierKeyOf,
  verifyCheckpoint,
} from '../src/core/checkpoint.js';
import { createHash } from 'node:crypto';

// golang.org/x/mod/sumdb/note, note_test.go (Ed25519 is deterministic, so signing must reproduce the published note).
const peterSignerKey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const peterVerifierKey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const peterText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const peterNote = `${peterText}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
// c2sp.org/signed-note, the example in the specification.
const exampleVerifierKey = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const exampleNote =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

describe('signed notes (c2sp.org/signed-note)', () => {
  it('reproduces the published Go note byte for byte and derives the published verifier key', () => {
    const signer = parseSignerKey(peterSignerKey);
    expect(verifierKeyOf(signer)).toBe(peterVerifierKey);
    expect(signNote(peterText, signer)).toBe(peterNote);
    expect(openNote(peterNote, parseVerifierKey(peterVerifierKey))).toBe(peterText);
  });

  it('verifies the specification example', () => {
    expect(openNote(exampleNote, parseVerifierKey(exampleVerifierKey))).toBe('This is an example message.\n');
  });

  it('computes the key hash as SHA-256(name || 0x0A || 0x01 || public key)[0:4]', () => {
    const verifier = parseVerifierKey(peterVerifierKey);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('PeterNeumann\n'), Buffer.from([1]), verifier.publicKey]))
      .digest()
      .subarray(0, 4);
    expect(computeKeyHash('PeterNeumann', verifier.publicKey).toString('hex')).toBe(expected.toString('hex'));
    expect(expected.toString('hex')).toBe('c74f20a3');
  });

  it('rejects an altered text, a signature by another key, and a key with a wrong hash', () => {
    const verifier = parseVerifierKey(peterVerifierKey);
    expect(() => openNote(peterNote.replace('cryptography', 'cryptographY'), verifier)).toThrow(/does not verify/);
    expect(() => openNote(exampleNote, verifier)).toThrow(/no signature by key "PeterNeumann"/);
    expect(() => parseVerifierKey(peterVerifierKey.replace('c74f20a3', 'c74f20a4'))).toThrow(NoteError);
    expect(() => openNote('no blank line\n', verifier)).toThrow(NoteError);
  });

  it('generates keys whose signatures verify, and keeps the private key out of the verifier key', () => {
    const signerKey = generateSignerKey('covenant.example/ledger');
    const signer = parseSignerKey(signerKey);
    const verifierKey = verifierKeyOf(signer);
    expect(verifierKey).toMatch(/^covenant\.example\/ledger\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    const seedMaterial = signerKey.slice('PRIVATE+KEY+covenant.example/ledger+12345678+'.length);
    expect(Buffer.from(seedMaterial, 'base64')).toHaveLength(33);
    expect(verifierKey).not.toContain(seedMaterial.slice(4, 40));
    expect(openNote(signNote('hello\n', signer), parseVerifierKey(verifierKey))).toBe('hello\n');
    expect(() => generateSignerKey('has space')).toThrow(NoteError);
  });
});

describe('checkpoints (c2sp.org/tlog-checkpoint)', () => {
  const signer = parseSignerKey(generateSignerKey('covenant.example/ledger'));
  const rootHash = createHash('sha256').update('root').digest();

  it('formats origin, size and base64 root, then a blank line and an em-dash signature line', () => {
    const note = signCheckpoint({ origin: 'covenant.example/ledger', size: 42, rootHash }, signer);
    const lines = note.split('\n');
    expect(lines.slice(0, 4)).toEqual(['covenant.example/ledger', '42', rootHash.toString('base64'), '']);
    expect(lines[4]).toMatch(/^\u2014 covenant\.example\/ledger [A-Za-z0-9+/]{91}=$/);
    expect(Buffer.from(lines[4].split(' ')[2], 'base64').subarray(0, 4)).toEqual(signer.keyHash);
    expect(note.endsWith('\n')).toBe(true);
  });

  it('verifies and returns the body; rejects an altered size, root or origin', () => {
    const note = signCheckpoint({ origin: 'covenant.example/ledger', size: 42, rootHash }, signer);
    const verifierKey = verifierKeyOf(signer);
    const body = verifyCheckpoint(note, verifierKey, 'covenant.example/ledger');
    expect(body.size).toBe(42);
    expect(body.rootHash.equals(rootHash)).toBe(true);
    expect(() => verifyCheckpoint(note.replace('\n42\n', '\n43\n'), verifierKey)).toThrow(/does not verify/);
    const otherRoot = createHash('sha256').update('other').digest().toString('base64');
    expect(() => verifyCheckpoint(note.replace(rootHash.toString('base64'), otherRoot), verifierKey)).toThrow(/does not verify/);
    expect(() => verifyCheckpoint(note, verifierKey, 'someone.else/log')).toThrow(/origin/);
  });

  it('parses what it formats, and refuses malformed bodies', () => {
    const body = formatCheckpoint({ origin: 'o', size: 0, rootHash, extensions: ['ext one'] });
    expect(parseCheckpoint(body)).toEqual({ origin: 'o', size: 0, rootHash, extensions: ['ext one'] });
    expect(() => parseCheckpoint('o\n01\n' + rootHash.toString('base64') + '\n')).toThrow(/tree size/);
    expect(() => parseCheckpoint('o\n1\nAAAA\n')).toThrow(/root hash/);
    expect(() => parseCheckpoint('o\n1\n')).toThrow(NoteError);
  });
});
