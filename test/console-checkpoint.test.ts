// The console's in-browser check of a signed checkpoint (ui/src/checkpoint.ts, Web Crypto Ed25519) against notes the
// ledger's own signer makes (core/checkpoint.ts): it accepts a real one, and refuses a tampered signature, a tampered
// body, another key, and a checkpoint of another tree; without Ed25519 in Web Crypto it says the signature was not checked.
import { describe, expect, it } from 'vitest';
import { generateSignerKey, parseSignerKey, signCheckpoint, verifierKeyOf } from '../src/core/checkpoint.js';
import { verifyCheckpointSignature } from '../ui/src/checkpoint.js';

const signer = parseSignerKey(generateSignerKey('covenant.example/ledger'));
const verifierKey = verifierKeyOf(signer);
const rootHash = Buffer.alloc(32, 7);
const tree = { size: 42, rootHash: rootHash.toString('hex') };
const note = signCheckpoint({ origin: 'covenant.example/ledger', size: 42, rootHash }, signer);

describe("the console's checkpoint signature check", () => {
  it('verifies a checkpoint the ledger signed, for the tree it signs', async () => {
    const result = await verifyCheckpointSignature(note, verifierKey, tree);
    expect(result).toEqual({ ok: true, detail: expect.stringContaining(`signed by ${verifierKey.split('+').slice(0, 2).join('+')}`) });
  });

  it('fails a tampered signature', async () => {
    const line = note.trimEnd().split('\n').at(-1)!;
    const bytes = Buffer.from(line.split(' ')[2]!, 'base64');
    bytes[10] = bytes[10]! ^ 0x01;
    const tampered = note.replace(line, `${line.split(' ').slice(0, 2).join(' ')} ${bytes.toString('base64')}`);
    expect(tampered).not.toBe(note);
    const result = await verifyCheckpointSignature(tampered, verifierKey, tree);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('does not verify');
  });

  it('fails a tampered body (a bigger tree under the old signature), another key, and another tree', async () => {
    const grown = note.replace('\n42\n', '\n43\n');
    expect((await verifyCheckpointSignature(grown, verifierKey, { ...tree, size: 43 })).ok).toBe(false);
    const other = verifierKeyOf(parseSignerKey(generateSignerKey('covenant.example/ledger')));
    expect(await verifyCheckpointSignature(note, other, tree)).toMatchObject({ ok: false, detail: expect.stringContaining('no signature by key') });
    expect(await verifyCheckpointSignature(note, verifierKey, { ...tree, rootHash: '00'.repeat(32) })).toMatchObject({ ok: false, detail: expect.stringContaining('not the tree') });
    expect(await verifyCheckpointSignature(note, verifierKey, { ...tree, size: 41 })).toMatchObject({ ok: false });
    expect((await verifyCheckpointSignature(note, 'not a key', tree)).ok).toBe(false);
  });

  it('says so when Web Crypto has no Ed25519, rather than passing', async () => {
    const noEd25519 = {
      importKey: async () => { throw new DOMException('Unrecognized name.', 'NotSupportedError'); },
      verify: async () => true,
    } as unknown as SubtleCrypto;
    expect(await verifyCheckpointSignature(note, verifierKey, tree, noEd25519)).toMatchObject({ ok: false, unsupported: true, detail: expect.stringContaining('no Ed25519') });
  });
});
