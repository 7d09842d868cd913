// The console's in-browser inclusion-proof check (ui/src/merkle.ts, Web Crypto) against the ledger's own proofs:
// it accepts every real proof, and refuses an altered entry, an altered path and the wrong root.
import { describe, expect, it } from 'vitest';
import { verifyInclusion, type InclusionProof } from '../ui/src/merkle.js';
import { startTestGateway } from './helpers/gateway.js';

describe('the console\'s inclusion-proof check', () => {
  it('verifies the ledger\'s proofs for every entry and tree size, and catches tampering', async () => {
    const gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org: { name: acme, departments: [ { name: claims, keys: [ { name: app, key_env: KEY } ] } ] }
`, { ADMIN_KEY: 'sk-a', KEY: 'sk-k' });
    try {
      for (let index = 0; index < 10; index += 1) {
        await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: 'Bearer sk-k', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: `question ${index} ünïcødé` }] }),
        });
      }
      const head = await gateway.stores.ledger.head();
      expect(head.size).toBeGreaterThanOrEqual(12);
      for (const size of [1, 2, 3, 7, 8, head.size]) {
        for (let index = 0; index < size; index += 1) {
          const proof = await gateway.stores.ledger.inclusionProof(index, size) as InclusionProof;
          expect(await verifyInclusion(proof, proof.root_hash)).toMatchObject({ ok: true });
        }
      }
      const proof = await gateway.stores.ledger.inclusionProof(5, head.size) as InclusionProof;
      const altered = { ...proof, entry: { ...(proof.entry as Record<string, unknown>), cost_usd: '0.000000' } };
      expect(await verifyInclusion(altered, proof.root_hash)).toMatchObject({ ok: false, detail: expect.stringContaining('altered') });
      const badPath = { ...proof, inclusion_path: proof.inclusion_path.map((hash, index) => (index === 0 ? `${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}` : hash)) };
      expect((await verifyInclusion(badPath, proof.root_hash)).ok).toBe(false);
      expect((await verifyInclusion(proof, '00'.repeat(32))).ok).toBe(false);
    } finally {
      await gateway.stop();
    }
  });
});
