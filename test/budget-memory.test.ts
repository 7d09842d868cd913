// Per-user state in memory stays bounded however many end users come: the guard's scope cache and the burn-rate tracker.
import { describe, expect, it } from 'vitest';
import { AlertNotifier } from '../src/budgets/alerts.js';
import { BurnRateTracker } from '../src/budgets/burn-rate.js';
import { BudgetGuard, type BudgetScope, type BudgetSettings } from '../src/budgets/guard.js';
import type { ModelPricing } from '../src/core/pricing.js';
import { createSqliteAlertStore } from '../src/stores/sqlite/alert-store.js';
import { createMemoryBudgetStore } from '../src/stores/memory/budget-store.js';
import { openDatabase } from '../src/stores/sqlite/database.js';

const pricing: ModelPricing = { inputMicrosPerMtok: 1_000_000, outputMicrosPerMtok: 1_000_000, cachedInputMicrosPerMtok: 1_000_000, cacheWriteMicrosPerMtok: 1_000_000 };
const settings: BudgetSettings = { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 };
const usage = { inputTokens: 10, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

describe('per-user budget state', () => {
  it('stays bounded in the guard and the burn-rate tracker across 30,000 distinct users', async () => {
    const database = openDatabase(':memory:');
    try {
      const burnRate = new BurnRateTracker(undefined, { maxCounters: 5000 });
      const alerts = { thresholds: [0.9], burn_rate: { window: '15m', jump: 5 } };
      const notifier = new AlertNotifier({ store: createSqliteAlertStore(database), burnRate });
      const guard = new BudgetGuard({ store: createMemoryBudgetStore(), settings, alerts: notifier, burnRate });
      const department: BudgetScope = { scope: 'department:claims', budgets: [{ usd: 1000, period: 'day' }], alerts };
      for (let user = 0; user < 30_000; user += 1) {
        const scopes = [department, { scope: `user:claims/u${user}`, budgets: [{ usd: 1, period: 'day' as const }], alerts }];
        const handle = await guard.reserve({ requestId: 'r', scopes, pricing, prompt: { bound: 10 }, requestedMaxTokens: 10, modelMaxOutput: 1000 });
        await guard.settle(handle, { usage });
      }
      await notifier.idle();
      expect(guard.cachedScopes).toBeLessThanOrEqual(10_000);
      expect(burnRate.size).toBe(5000);
      // The department is settled on every request: the least-recently-seen rule never drops it.
      const reading = burnRate.reading('department:claims|usd:day|' + new Date().toISOString().slice(0, 10), Date.now(),
        { spent: 0, limit: 1e9, periodEnd: Date.now() + 1e9 }, { windowMs: 900_000, baselineMs: 3_600_000, jump: 5 });
      expect(reading.recentPerMs).toBeGreaterThan(0);
    } finally {
      database.close();
    }
  });
});
