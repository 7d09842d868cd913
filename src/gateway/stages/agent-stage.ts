// Pipeline stage for the agent-loop breaker: count each step of a session and refuse every step of a suspended one.
import type { ChatRequest } from '../../core/chat-types.js';
import { promptTokenUpperBound } from '../../core/tokens.js';
import type { AgentPolicy, ResolvedConfig } from '../../config/resolve.js';
import type { SessionBreaker } from '../../sessions/breaker.js';
import { bodyHash, historyToolCalls, sessionId, type StepCost } from '../../sessions/state.js';
import { configKeyId } from '../keys.js';
import { promptBound } from '../prompt-bound.js';
import { apiAgentPolicyLookup } from './key-policy.js';
import type { CallContext, Stage } from '../context.js';

declare module '../context.js' {
  interface StageState {
    /** The session this request is a step of, until finish settles its share of the session's spend. */
    agent?: { session: string; policy: AgentPolicy; reserved: boolean };
  }
}

/**
 * The agent policy of each config key that sets its own; undefined when no key or department sets one and no
 * admin-API key does (`apiKeys`: whether one does; their policies are looked up per key record).
 */
function keyPolicies(config: ResolvedConfig, apiKeys: boolean): Map<string, AgentPolicy> | undefined {
  const byKey = new Map<string, AgentPolicy>();
  for (const key of config.configKeys) if (key.agent) byKey.set(configKeyId(key.department, key.name), key.agent);
  const anyDepartment = [...config.departments.values()].some((department) => department.agent !== undefined);
  return byKey.size > 0 || anyDepartment || apiKeys ? byKey : undefined;
}

/** The step's worst-case cost inputs, as the budget stage computes them, for a session with a spend cap. */
function stepCost(context: CallContext, minOutputTokens: number): StepCost {
  const request = context.upstreamRequest;
  if (context.route === 'embeddings') {
    return { pricing: context.model.pricing, promptTokens: promptBound(request), requestedMaxTokens: 1, modelMaxOutput: 1, minOutputTokens: 1, choices: 1 };
  }
  const chat = request as ChatRequest;
  return {
    pricing: context.model.pricing,
    promptTokens: promptTokenUpperBound(chat, context.model.version),
    requestedMaxTokens: chat.max_completion_tokens ?? chat.max_tokens ?? null,
    modelMaxOutput: context.model.maxOutputTokens,
    minOutputTokens,
    choices: chat.n ?? 1,
  };
}

/** The breaker's stage for a config, or undefined when no key or department has an agent policy (it then costs nothing). */
export function createAgentStage(breaker: SessionBreaker | undefined, config: ResolvedConfig, current: () => ResolvedConfig, apiKeys = false): Stage | undefined {
  const byKey = keyPolicies(config, apiKeys);
  const apiPolicyOf = apiAgentPolicyLookup();
  if (!breaker || !byKey) return undefined;
  return {
    name: 'agent',

    async admit(context) {
      const policy = byKey.get(context.key.id)
        ?? (context.key.source === 'api' ? apiPolicyOf(current(), context.key) : undefined) ?? context.department.agent;
      if (!policy) return;
      const isChat = context.route !== 'embeddings';
      // Without the header, an embedding has no conversation to name its session by.
      if (!isChat && context.sessionHeader === null) return;
      const chat = isChat ? (context.upstreamRequest as ChatRequest) : undefined;
      const session = sessionId(context.key.id, context.sessionHeader, chat, context.user);
      // The whole header names the session; records keep a readable prefix of it.
      const label = context.sessionHeader === null ? null : context.sessionHeader.slice(0, 256);
      const { maxTokens } = await breaker.admit({
        session, label, policy, department: context.department.name, keyId: context.key.id,
        keyName: context.key.name, requestId: context.id,
        input: {
          bodyHash: policy.maxIdenticalRequests === null ? undefined : bodyHash(context.rawBody),
          toolCalls: policy.maxRepeatedToolCalls === null || !chat ? undefined : historyToolCalls(chat),
          cost: policy.maxSessionMicros === null ? undefined : stepCost(context, current().budgetSettings.min_output_tokens),
        },
      });
      context.state.agent = { session, policy, reserved: policy.maxSessionMicros !== null };
      context.responseHeaders['x-covenant-session-id'] = session;
      if (!chat || maxTokens === null || maxTokens >= context.maxOutputTokens) return;
      // The session affords less than asked: lower max_tokens (the budget stage lowers it further if it must).
      if (chat.max_completion_tokens != null) chat.max_completion_tokens = maxTokens;
      else chat.max_tokens = maxTokens;
      context.maxOutputTokens = maxTokens;
      context.responseHeaders['x-covenant-max-tokens'] = String(maxTokens);
    },

    async finish(context) {
      const agent = context.state.agent;
      if (!agent?.reserved) return;
      const outcome = context.outcome;
      let settlement: { release: true } | { actualMicros?: number };
      if (outcome.kind === 'completed') settlement = context.usageEstimated ? {} : { actualMicros: context.costMicros };
      // A provider that timed out may still have billed the answer: keep the worst case.
      else if (outcome.kind === 'failed' && outcome.error.code === 'upstream_timeout') settlement = {};
      else settlement = { release: true };
      await breaker.settle(agent.session, context.id, agent.policy, settlement);
    },
  };
}
