// Agent sessions' hot state in this process (embedded mode): a map whose entries expire after their idle time.
import type { SessionState } from '../../sessions/state.js';
import type { SessionStateStore, StateChange } from '../../sessions/store.js';

interface Entry {
  state: SessionState;
  expiresAt: number;
}

/**
 * The embedded session state: one process owns the store, so a synchronous read-change-write is atomic.
 * Expired entries are dropped when read and by a sweep, so idle sessions cost no memory.
 */
export function createMemorySessionStateStore(options: { clock?: () => number; sweepMs?: number } = {}): SessionStateStore {
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const live = (session: string): Entry | undefined => {
    const entry = entries.get(session);
    if (entry && entry.expiresAt <= clock()) {
      entries.delete(session);
      return undefined;
    }
    return entry;
  };
  const sweep = setInterval(() => {
    const now = clock();
    for (const [session, entry] of entries) if (entry.expiresAt <= now) entries.delete(session);
  }, options.sweepMs ?? 60_000);
  sweep.unref();
  return {
    async update<T>(session: string, change: (state: SessionState | undefined) => StateChange<T>): Promise<T> {
      const outcome = change(live(session)?.state);
      if (outcome.state !== null) entries.set(session, { state: outcome.state, expiresAt: clock() + outcome.ttlMs });
      return outcome.result;
    },
    async get(session) {
      return live(session)?.state;
    },
    async delete(session) {
      entries.delete(session);
    },
    async close() {
      clearInterval(sweep);
      entries.clear();
    },
  };
}
