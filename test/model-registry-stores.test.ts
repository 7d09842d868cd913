// The model registry contract on SQLite and PostgreSQL, plus its pure parts: judging fingerprints, contract warnings, RFC headers.
import { describe, expect, it } from 'vitest';
import { contractTerms, contractWarnings, deprecationHeaders } from '../src/models/policy.js';
import { lexicalCosine } from '../src/models/similarity.js';
import { judge } from '../src/models/state.js';
import { createSqliteModelRegistryStore } from '../src/stores/sqlite/model-registry-store.js';
import { createPostgresModelRegistryStore } from '../src/stores/postgres/model-registry-store.js';
import { postgresFixture, sqliteFixture } from './helpers/store-fixtures.js';
import { runRegistryStoreContract } from './model-registry-contract.js';

runRegistryStoreContract('SQLite', sqliteFixture(createSqliteModelRegistryStore));
runRegistryStoreContract('PostgreSQL', postgresFixture(createPostgresModelRegistryStore));

describe('silent-change judgement', () => {
  const seen = (fingerprints: string[], models: string[], calls: number) => ({ fingerprints: new Set(fingerprints), models: new Set(models), calls });

  it('takes the first fingerprint and model id as the baseline', () => {
    expect(judge(seen([], [], 0), 0, 'gpt-4o', { model: 'gpt-4o-2024-08-06', fingerprint: 'fp_a' })).toEqual({
      learnt: [{ kind: 'model', value: 'gpt-4o-2024-08-06' }, { kind: 'fingerprint', value: 'fp_a' }], changes: [],
    });
  });

  it('reports a new fingerprint after learning, and learns one within the first N calls', () => {
    expect(judge(seen(['fp_a'], [], 10), 0, 'gpt-4o', { model: null, fingerprint: 'fp_b' }).changes).toEqual([{ kind: 'fingerprint', before: ['fp_a'], after: 'fp_b' }]);
    expect(judge(seen(['fp_a'], [], 2), 3, 'gpt-4o', { model: null, fingerprint: 'fp_b' })).toEqual({ learnt: [{ kind: 'fingerprint', value: 'fp_b' }], changes: [] });
    expect(judge(seen(['fp_a'], [], 3), 3, 'gpt-4o', { model: null, fingerprint: 'fp_b' }).changes).toHaveLength(1);
  });

  it('reports a returned model id that is not the pinned version, even first and during learning', () => {
    expect(judge(seen([], [], 0), 100, 'gpt-4o', { model: 'gpt-4o-mini', fingerprint: null }).changes).toEqual([{ kind: 'model', before: ['gpt-4o'], after: 'gpt-4o-mini' }]);
  });
});

describe('contract terms', () => {
  const now = Date.parse('2026-12-06T00:00:00Z');

  it('fills the drift defaults the issue names', () => {
    expect(contractTerms(undefined).drift).toEqual({ min_similarity: 0.95, max_variance: 0.15, max_safety_failures: 0, window: '24h' });
  });

  it('warns of a notice shorter than agreed and of an end within the horizon, not of one beyond it', () => {
    const terms = contractTerms({ notice_days: 60, deprecation: { announced: '2026-12-01', sunset: '2027-01-15' } });
    expect(contractWarnings('fast', terms, now)).toEqual([
      'model "fast": the deprecation announced 2026-12-01 ends 2027-01-15, 45 days\' notice; the contract agrees 60',
      'model "fast": the announced sunset is 2027-01-15, in 40 days (horizon 90)',
    ]);
    expect(contractWarnings('fast', contractTerms({ support_until: '2028-12-06', notice_days: 60 }), now)).toEqual([]);
    expect(contractWarnings('fast', contractTerms({ support_until: '2026-12-01' }), now)).toEqual(['model "fast": support ends 2026-12-01, 5 days ago']);
  });

  it('formats RFC 9745 Deprecation as @unix-seconds and RFC 8594 Sunset as an HTTP-date', () => {
    expect(deprecationHeaders({ deprecationNoticeAt: Date.parse('2026-12-01T00:00:00Z'), supportUntil: Date.parse('2027-01-15T00:00:00Z') })).toEqual({
      deprecation: '@1796083200', sunset: 'Fri, 15 Jan 2027 00:00:00 GMT',
    });
    expect(deprecationHeaders({ deprecationNoticeAt: null, supportUntil: null })).toBeNull();
  });

  it('scores the same answer 1, a disjoint one 0', () => {
    expect(lexicalCosine('the cat sat', 'The cat sat.')).toBeCloseTo(1, 12);
    expect(lexicalCosine('alpha beta', 'gamma delta')).toBe(0);
    expect(lexicalCosine('a a b', 'a b b')).toBeCloseTo(0.8, 12);
  });
});
