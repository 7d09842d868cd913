// The agent session stores' contract: every backend pair (memory + SQLite, Redis + PostgreSQL) must pass it. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import type { AgentPolicy } from '../src/config/resolve.js';
import { CovenantError } from '../src/core/errors.js';
import type { ModelPricing } from '../src/core/pricing.js';
import type { LedgerEntryInput } from '../src/ledger/types.js';
import { SessionBreaker, type SessionStep } from '../src/sessions/breaker.js';
import type { SessionStateStore, SuspensionStore } from '../src/sessions/store.js';

export interface SessionStoresFixture {
  state: SessionStateStore;
  suspensions: SuspensionStore;
  /** Open the same durable data again as a restarted process would, with empty hot state. */
  restart(): Promise<{ state: SessionStateStore; suspensions: SuspensionStore }>;
  cleanup(): Promise<void>;
}

const pricing: ModelPricing = { inputMicrosPerMtok: 10_000_000, outputMicrosPerMtok: 30_000_000, cachedInputMicrosPerMtok: 10_000_000, cacheWriteMicrosPerMtok: 10_000_000 };

function policy(fields: Partial<AgentPolicy>): AgentPolicy {
  return {
    maxSteps: null, maxSessionMicros: null, maxIdenticalRequests: null, identicalWindowMs: 300_000, maxRepeatedToolCalls: null,
    maxDurationMs: null, idleMs: 3_600_000, webhook: undefined, ...fields,
  };
}

let sequence = 0;
function step(session: string, agent: AgentPolicy, input: SessionStep['input'] = {}): SessionStep {
  sequence += 1;
  return { session, label: 'run-1', policy: agent, department: 'claims', keyId: 'key_1', keyName: 'bot', requestId: `req_${sequence}`, input };
}

function breakerOn(stores: { state: SessionStateStore; suspensions: SuspensionStore }, entries: LedgerEntryInput[], clock?: () => number): SessionBreaker {
  return new SessionBreaker({ ...stores, record: async (entry) => { entries.push(entry); }, configVersion: () => 'test', clock });
}

async function outcome(work: Promise<unknown>): Promise<'admitted' | 'suspended'> {
  try {
    await work;
    return 'admitted';
  } catch (error) {
    if (error instanceof CovenantError && error.code === 'agent_session_suspended') return 'suspended';
    throw error;
  }
}

export function runSessionStoreContract(name: string, open: () => Promise<SessionStoresFixture>): void {
  const withStores = (test: (fixture: SessionStoresFixture) => Promise<void>) => async () => {
    const fixture = await open();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`session stores contract: ${name}`, () => {
    it('admits exactly max_steps of 40 concurrent steps, suspends once, and records it once', withStores(async (fixture) => {
      const entries: LedgerEntryInput[] = [];
      const breaker = breakerOn(fixture, entries);
      const agent = policy({ maxSteps: 7 });
      const outcomes = await Promise.all(Array.from({ length: 40 }, () => outcome(breaker.admit(step('ses_steps', agent)))));
      expect(outcomes.filter((kind) => kind === 'admitted')).toHaveLength(7);
      expect(entries.filter((entry) => entry.kind === 'session.suspended')).toHaveLength(1);
      expect(entries[0]).toMatchObject({ session: 'ses_steps', policy: 'max_steps', count: 8, limit: 7, department: 'claims', key: 'bot' });
      const listed = await breaker.list();
      expect(listed.map((record) => [record.session, record.policy, record.count])).toEqual([['ses_steps', 'max_steps', 8]]);
      await expect(breaker.admit(step('ses_steps', agent))).rejects.toThrow(/max_steps: step 8 is over the limit of 7 steps/);
    }));

    it('never reserves more than max_session_usd across concurrent steps, and settles to the actual cost', withStores(async (fixture) => {
      const breaker = breakerOn(fixture, []);
      // Each step's worst case: 100 prompt tokens and 100 output tokens = 1000 + 3000 micros.
      const agent = policy({ maxSessionMicros: 20_000 });
      const cost = { pricing, promptTokens: 100, requestedMaxTokens: 100, modelMaxOutput: 4096, minOutputTokens: 100, choices: 1 };
      const steps = Array.from({ length: 12 }, () => step('ses_money', agent, { cost }));
      const outcomes = await Promise.all(steps.map((each) => outcome(breaker.admit(each))));
      expect(outcomes.filter((kind) => kind === 'admitted')).toHaveLength(5);
      const state = await fixture.state.get('ses_money');
      expect(state!.reservations.reduce((sum, reservation) => sum + reservation[1], 0)).toBe(20_000);
      // The first admitted step cost less than its worst case: settle moves the actual into the spend.
      const admitted = steps.filter((_, index) => outcomes[index] === 'admitted');
      await breaker.settle('ses_money', admitted[0]!.requestId, agent, { actualMicros: 1_500 });
      await breaker.settle('ses_money', admitted[1]!.requestId, agent, { release: true });
      const settled = await fixture.state.get('ses_money');
      expect(settled!.spentMicros).toBe(1_500);
      expect(settled!.reservations).toHaveLength(3);
    }));

    it('keeps a session suspended across a restart, until a person resumes it', withStores(async (fixture) => {
      const entries: LedgerEntryInput[] = [];
      const breaker = breakerOn(fixture, entries);
      const agent = policy({ maxSteps: 1 });
      await breaker.admit(step('ses_restart', agent));
      await expect(breaker.admit(step('ses_restart', agent))).rejects.toThrow(CovenantError);
      const restarted = await fixture.restart();
      const again = breakerOn(restarted, entries);
      expect(await restarted.state.get('ses_restart')).toBeUndefined();
      await expect(again.admit(step('ses_restart', agent))).rejects.toThrow(/suspended by max_steps/);
      expect(await again.resume('ses_restart', 'alice', 'the loop is fixed')).toMatchObject({ resumedBy: 'alice', reason: 'the loop is fixed' });
      expect(entries.at(-1)).toMatchObject({ kind: 'session.resumed', session: 'ses_restart', by: 'alice', reason: 'the loop is fixed' });
      // Its counters start over: one more step, then suspended again.
      await again.admit(step('ses_restart', agent));
      await expect(again.admit(step('ses_restart', agent))).rejects.toThrow(CovenantError);
      const history = await again.list({ resumed: true });
      expect(history.map((record) => record.resumedBy)).toEqual([null, 'alice']);
      expect(await again.resume('ses_unknown', 'alice', 'nothing')).toBeUndefined();
    }));

    it('counts identical bodies within the window only, and each tool call once however often it is resent', withStores(async (fixture) => {
      let now = 1_000_000;
      const breaker = breakerOn(fixture, [], () => now);
      const identical = policy({ maxIdenticalRequests: 2, identicalWindowMs: 60_000 });
      await breaker.admit(step('ses_same', identical, { bodyHash: 'b1' }));
      await breaker.admit(step('ses_same', identical, { bodyHash: 'b1' }));
      now += 61_000;
      await breaker.admit(step('ses_same', identical, { bodyHash: 'b1' }));
      await breaker.admit(step('ses_same', identical, { bodyHash: 'b1' }));
      await expect(breaker.admit(step('ses_same', identical, { bodyHash: 'b1' }))).rejects.toThrow(/max_identical_requests: the same request body was sent 3 times/);

      const tools = policy({ maxRepeatedToolCalls: 2 });
      const call = (id: string) => ({ signature: 'weather-paris', name: 'get_weather', id });
      await breaker.admit(step('ses_tools', tools, { toolCalls: [call('a')] }));
      await breaker.admit(step('ses_tools', tools, { toolCalls: [call('a'), call('b')] }));
      await breaker.admit(step('ses_tools', tools, { toolCalls: [call('a'), call('b')] }));
      await expect(breaker.admit(step('ses_tools', tools, { toolCalls: [call('a'), call('b'), call('c')] })))
        .rejects.toThrow(/the tool "get_weather" was called 3 times with the same arguments/);

      const duration = policy({ maxDurationMs: 30_000 });
      await breaker.admit(step('ses_long', duration));
      now += 31_000;
      await expect(breaker.admit(step('ses_long', duration))).rejects.toThrow(/max_duration/);
    }));

    it('forgets an idle session\'s counters', withStores(async (fixture) => {
      const breaker = breakerOn(fixture, []);
      const agent = policy({ maxSteps: 5, idleMs: 1_000, identicalWindowMs: 1_000 });
      await breaker.admit(step('ses_idle', agent));
      expect((await fixture.state.get('ses_idle'))?.steps).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(await fixture.state.get('ses_idle')).toBeUndefined();
    }));

    it('lists one department\'s suspensions for a department-scoped reader', withStores(async (fixture) => {
      const breaker = breakerOn(fixture, []);
      const agent = policy({ maxSteps: 1 });
      for (const department of ['claims', 'legal']) {
        const each = { ...step(`ses_${department}`, agent), department };
        await breaker.admit(each);
        await outcome(breaker.admit({ ...each, requestId: `${each.requestId}b` }));
      }
      expect((await breaker.list({ department: 'legal' })).map((record) => record.session)).toEqual(['ses_legal']);
      expect((await breaker.list()).map((record) => record.session)).toEqual(['ses_legal', 'ses_claims']);
    }));
  });
}
