// The console session store's contract: SQLite and PostgreSQL must both pass it. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import type { ConsoleSessionRecord, ConsoleSessionStore } from '../src/console/store.js';

export interface ConsoleSessionFixture {
  store: ConsoleSessionStore;
  /** The same data through a new connection (another replica, or a restart). */
  reopen(): Promise<ConsoleSessionStore>;
  cleanup(): Promise<void>;
}

const start = 1_800_000_000_000;
let sequence = 0;

function record(fields: Partial<ConsoleSessionRecord> = {}): ConsoleSessionRecord {
  sequence += 1;
  return {
    idDigest: `digest-${sequence}`, keyName: 'ops', keyDigest: `s1$salt${sequence}$hash`, csrf: `csrf-${sequence}`,
    createdAt: start, expiresAt: start + 60_000, ...fields,
  };
}

export function runConsoleSessionStoreContract(name: string, open: () => Promise<ConsoleSessionFixture>): void {
  const withStore = (test: (fixture: ConsoleSessionFixture) => Promise<void>) => async () => {
    const fixture = await open();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };
  const limits = { now: start, maxSessions: 100 };

  describe(`console session store contract: ${name}`, () => {
    it('keeps a session across a reopen, field for field, and forgets it on close everywhere', withStore(async (fixture) => {
      const session = record({ keyName: 'sales-lead' });
      await fixture.store.open(session, limits);
      const other = await fixture.reopen();
      expect(await other.find(session.idDigest)).toEqual(session);
      expect(await other.find('digest-unknown')).toBeUndefined();
      await other.close(session.idDigest);
      expect(await fixture.store.find(session.idDigest)).toBeUndefined();
      await other.close(session.idDigest);
    }));

    it('prunes expired sessions when one opens, and counts only live ones', withStore(async (fixture) => {
      const expired = record({ expiresAt: start + 1_000 });
      const live = record({ expiresAt: start + 5_000 });
      await fixture.store.open(expired, limits);
      await fixture.store.open(live, limits);
      expect(await fixture.store.count(start)).toBe(2);
      expect(await fixture.store.count(start + 1_000)).toBe(1);
      await fixture.store.open(record(), { ...limits, now: start + 1_000 });
      expect(await fixture.store.find(expired.idDigest)).toBeUndefined();
      expect(await fixture.store.find(live.idDigest)).toBeDefined();
      expect(await fixture.store.prune(start + 5_000)).toBe(1);
      expect(await fixture.store.find(live.idDigest)).toBeUndefined();
      expect(await fixture.store.count(start)).toBe(1);
    }));

    it('keeps at most maxSessions, dropping the oldest first even when they opened in the same millisecond', withStore(async (fixture) => {
      const sessions = [record(), record(), record(), record()];
      for (const session of sessions) await fixture.store.open(session, { ...limits, maxSessions: 3 });
      expect(await fixture.store.find(sessions[0]!.idDigest)).toBeUndefined();
      for (const session of sessions.slice(1)) expect(await fixture.store.find(session.idDigest)).toBeDefined();
      expect(await fixture.store.count(start)).toBe(3);
    }));

    it('holds exactly maxSessions when replicas sign in at once', withStore(async (fixture) => {
      const stores = [fixture.store, await fixture.reopen(), await fixture.reopen()];
      for (let round = 0; round < 3; round += 1) {
        const sessions = Array.from({ length: 60 }, () => record());
        await Promise.all(sessions.map((session, index) => stores[index % stores.length]!.open(session, { ...limits, maxSessions: 5 })));
        expect(await fixture.store.count(start)).toBe(5);
      }
    }));
  });
}
