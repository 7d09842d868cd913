// The session stores' contract on both backend pairs: memory + SQLite (embedded) and Redis + PostgreSQL (distributed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { createSqliteSuspensionStore } from '../src/stores/sqlite/suspension-store.js';
import { createMemorySessionStateStore } from '../src/stores/memory/session-state.js';
import { openPostgres } from '../src/stores/postgres/database.js';
import { createPostgresSuspensionStore } from '../src/stores/postgres/suspension-store.js';
import { createRedisSessionStateStore } from '../src/stores/redis/session-state.js';
import { describe, expect, it } from 'vitest';
import type { AgentPolicy } from '../src/config/resolve.js';
import { decideStep } from '../src/sessions/state.js';
import type { SessionStateStore } from '../src/sessions/store.js';
import { createTestRedisPrefix, createTestSchema } from './helpers/services.js';
import { runSessionStoreContract } from './session-store-contract.js';

runSessionStoreContract('memory + SQLite', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-sessions-'));
  const path = join(directory, 'covenant.db');
  const databases = [openDatabase(path)];
  const states: SessionStateStore[] = [createMemorySessionStateStore()];
  return {
    state: states[0]!,
    suspensions: createSqliteSuspensionStore(databases[0]!),
    async restart() {
      const database = openDatabase(path);
      databases.push(database);
      const state = createMemorySessionStateStore();
      states.push(state);
      return { state, suspensions: createSqliteSuspensionStore(database) };
    },
    async cleanup() {
      for (const state of states) await state.close();
      for (const database of databases) database.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

runSessionStoreContract('Redis + PostgreSQL', async () => {
  const schema = createTestSchema();
  const redis = createTestRedisPrefix();
  const database = await openPostgres({ url: schema.url, schema: schema.schema });
  const restarted: { close(): Promise<void> }[] = [];
  const state = await createRedisSessionStateStore({ redisUrl: redis.url, prefix: redis.prefix });
  return {
    state,
    suspensions: await createPostgresSuspensionStore(database),
    async restart() {
      // A restart of the whole deployment that lost Redis: the hot state is gone, PostgreSQL keeps the suspensions.
      await redis.deleteKeys();
      const again = await openPostgres({ url: schema.url, schema: schema.schema });
      const nextState = await createRedisSessionStateStore({ redisUrl: redis.url, prefix: redis.prefix });
      restarted.push(again, nextState);
      return { state: nextState, suspensions: await createPostgresSuspensionStore(again) };
    },
    async cleanup() {
      await state.close();
      for (const each of restarted) await each.close();
      await database.close();
      await redis.cleanup();
      await schema.drop();
    },
  };
});

describe('Redis session state shared by replicas', () => {
  it('takes exactly max_steps when concurrent steps of one session come through three connections', async () => {
    const redis = createTestRedisPrefix();
    const stores = await Promise.all([0, 1, 2].map(() => createRedisSessionStateStore({ redisUrl: redis.url, prefix: redis.prefix })));
    try {
      const policy: AgentPolicy = {
        maxSteps: 9, maxSessionMicros: null, maxIdenticalRequests: null, identicalWindowMs: 60_000, maxRepeatedToolCalls: null,
        maxDurationMs: null, idleMs: 60_000, webhook: undefined,
      };
      const verdicts = await Promise.all(Array.from({ length: 60 }, (_, index) => stores[index % 3]!.update('ses_shared', (state) => decideStep(state, policy, { now: Date.now(), requestId: `r${index}` }, true))));
      expect(verdicts.filter((verdict) => verdict.kind === 'admitted')).toHaveLength(9);
      expect(verdicts.filter((verdict) => verdict.kind === 'tripped')).toHaveLength(1);
      expect(verdicts.filter((verdict) => verdict.kind === 'suspended')).toHaveLength(50);
      expect((await stores[0]!.get('ses_shared'))?.steps).toBe(9);
    } finally {
      for (const store of stores) await store.close();
      await redis.cleanup();
    }
  });
});
