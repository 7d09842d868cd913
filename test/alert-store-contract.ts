// The alert store contract: one suite run against every backend (SQLite, PostgreSQL).
import { describe, expect, it } from 'vitest';
import type { AlertEvent, AlertStore } from '../src/budgets/alerts.js';

export interface AlertStoreFactory {
  /** A fresh, empty store and a function that closes it. */
  open(): Promise<{ store: AlertStore; close: () => Promise<void> }>;
  /** A second store over the same data (another process or replica), when the backend has one. */
  openSecond?(): Promise<AlertStore>;
}

const base: AlertEvent = {
  counterKey: 'department:claims|usd:day|2024-05-01', scope: 'department:claims', unit: 'usd', period: 'day',
  windowKey: '2024-05-01', threshold: 0.5, spent: 6000, limit: 10_000,
  periodStart: Date.UTC(2024, 4, 1), periodEnd: Date.UTC(2024, 4, 2), time: Date.UTC(2024, 4, 1, 12),
};

export function alertStoreContract(name: string, factory: AlertStoreFactory): void {
  describe(`alert store contract: ${name}`, () => {
    it('records each (counter, kind, threshold) once and keeps burn-rate fields', async () => {
      const { store, close } = await factory.open();
      try {
        const first = await store.record({ ...base, webhook: 'http://127.0.0.1:1/hook' });
        expect(first).toMatchObject({ kind: 'threshold', status: 'pending', attempts: 0, threshold: 0.5, spent: 6000, limit: 10_000 });
        expect(await store.record({ ...base, spent: 7000 })).toBeUndefined();
        const projected = Date.UTC(2024, 4, 1, 18);
        const exhaustion = await store.record({
          ...base, kind: 'projected_exhaustion', threshold: 0, projectedAt: projected, ratePerHour: 700, baselinePerHour: 100,
        });
        expect(exhaustion).toMatchObject({ kind: 'projected_exhaustion', status: 'none', projectedAt: projected, ratePerHour: 700, baselinePerHour: 100 });
        expect(await store.record({ ...base, kind: 'projected_exhaustion', threshold: 0 })).toBeUndefined();
        const jump = await store.record({ ...base, kind: 'rate_jump', threshold: 0, ratePerHour: 700 });
        expect(jump?.kind).toBe('rate_jump');
        expect(jump?.baselinePerHour).toBeUndefined();
        // The next window is another counter: recorded again.
        expect(await store.record({ ...base, counterKey: 'department:claims|usd:day|2024-05-02', windowKey: '2024-05-02' })).toBeDefined();
        const listed = await store.list({ scope: 'department:claims' });
        expect(listed.map((record) => record.kind)).toEqual(['threshold', 'rate_jump', 'projected_exhaustion', 'threshold']);
        expect(await store.list({ scope: 'department:other' })).toEqual([]);
        expect(await store.list({ limit: 1 })).toHaveLength(1);
      } finally {
        await close();
      }
    });

    it('keeps each delivery status, attempts, last error and delivered time', async () => {
      const { store, close } = await factory.open();
      try {
        const record = await store.record({ ...base, webhook: 'http://127.0.0.1:1/hook' });
        if (!record) throw new Error('not recorded');
        await store.markDelivery(record.id, { status: 'pending', attempts: 1, lastError: 'HTTP 500' });
        expect((await store.list())[0]).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 500', deliveredAt: undefined });
        const at = Date.UTC(2024, 4, 1, 12, 0, 1);
        await store.markDelivery(record.id, { status: 'delivered', attempts: 2, deliveredAt: at });
        expect((await store.list())[0]).toMatchObject({ status: 'delivered', attempts: 2, lastError: undefined, deliveredAt: at });
        const other = await store.record({ ...base, threshold: 0.8, webhook: 'http://127.0.0.1:1/hook' });
        await store.markDelivery(other?.id as number, { status: 'failed', attempts: 5, lastError: 'connect ECONNREFUSED' });
        expect((await store.list())[0]).toMatchObject({ threshold: 0.8, status: 'failed', attempts: 5, lastError: 'connect ECONNREFUSED' });
      } finally {
        await close();
      }
    });

    it.runIf(factory.openSecond !== undefined)('records an alert once between two stores sharing the data', async () => {
      const { store, close } = await factory.open();
      try {
        const second = await (factory.openSecond as () => Promise<AlertStore>)();
        const results = await Promise.all([store.record({ ...base, kind: 'rate_jump', threshold: 0 }), second.record({ ...base, kind: 'rate_jump', threshold: 0 })]);
        expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      } finally {
        await close();
      }
    });
  });
}
