// Pipeline stage for caps on one request: its prompt's size and its worst-case cost, per key, department and model alias.
import type { ChatRequest } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { formatMicros } from '../../core/money.js';
import { worstCaseCostMicros } from '../../core/pricing.js';
import { hasExactTokenizer } from '../../core/tokens.js';
import { countPromptTokensExact } from '../../providers/openai/tokenizer.js';
import type { KeyPolicy, ResolvedConfig, ResolvedLimits } from '../../config/resolve.js';
import type { CallContext, Stage } from '../context.js';
import { requestPromptBound } from '../prompt-bound.js';
import { keyPolicyLookup, usesKeyPolicies } from './key-policy.js';

/** Whether a config (or one of the admin-API keys' policies) sets limits anywhere. */
export function usesLimits(config: ResolvedConfig, apiKeys: readonly KeyPolicy[] = []): boolean {
  if (usesKeyPolicies(config, (policy) => policy.limits !== null, apiKeys)) return true;
  for (const department of config.departments.values()) if (department.limits !== null) return true;
  for (const model of config.models.values()) if (model.limits !== null) return true;
  return false;
}

/** The prompt's size: the cheap upper bound when it is under every cap, else an exact count where a tokenizer is known. */
interface PromptSize {
  tokens: number;
  exact: boolean;
}

function promptSize(context: CallContext, cap: number): PromptSize {
  const bound = requestPromptBound(context);
  if (context.route === 'embeddings') return { tokens: bound, exact: false };
  const version = context.model.version;
  // Over the cap by the bound alone: count exactly rather than refuse a prompt that may fit.
  if (bound > cap && context.model.providerType === 'openai' && hasExactTokenizer(version)) {
    return { tokens: countPromptTokensExact(context.upstreamRequest as ChatRequest, version), exact: true };
  }
  return { tokens: bound, exact: false };
}

function check(context: CallContext, limits: ResolvedLimits | null, size: { value: PromptSize | undefined }): void {
  if (limits === null) return;
  if (limits.maxPromptTokens !== null) {
    size.value ??= promptSize(context, limits.maxPromptTokens);
    const counted = size.value;
    if (counted.tokens > limits.maxPromptTokens) {
      throw new CovenantError('context_too_large',
        `The prompt counts ${counted.exact ? '' : 'up to '}${counted.tokens} tokens, over the max_prompt_tokens cap of ${limits.maxPromptTokens} set on ${limits.owner}.`,
        { param: 'messages' });
    }
  }
  if (limits.maxRequestMicros !== null) {
    // What a budget would reserve: the cap holds for the most the request could cost.
    const choices = context.route === 'embeddings' ? 1 : ((context.upstreamRequest as ChatRequest).n ?? 1);
    const output = context.route === 'embeddings' ? 0 : context.maxOutputTokens * choices;
    const pricing = context.model.pricing;
    size.value ??= promptSize(context, Number.MAX_SAFE_INTEGER);
    let worst = worstCaseCostMicros(size.value.tokens, output, pricing);
    // Over the cap by the bound: count exactly where a tokenizer is known, rather than refuse a request that fits.
    if (worst > limits.maxRequestMicros && !size.value.exact) {
      size.value = promptSize(context, 0);
      worst = worstCaseCostMicros(size.value.tokens, output, pricing);
    }
    if (worst > limits.maxRequestMicros) {
      throw new CovenantError('request_too_expensive',
        `The request could cost up to $${formatMicros(worst)} (${size.value.tokens} prompt tokens and ${output} output tokens at most), over the max_request_usd cap of $${formatMicros(limits.maxRequestMicros)} set on ${limits.owner}; lower max_tokens or shorten the prompt.`,
        { param: 'max_tokens' });
    }
  }
}

export function createLimitsStage(config: () => ResolvedConfig): Stage {
  const policyOf = keyPolicyLookup();
  // Admission is synchronous, so one holder of the request's counted size serves every request in turn.
  const size: { value: PromptSize | undefined } = { value: undefined };
  return {
    name: 'limits',
    admit(context) {
      const keyLimits = policyOf(config(), context.key)?.limits ?? null;
      const departmentLimits = context.department.limits;
      const modelLimits = context.model.limits;
      if (keyLimits === null && departmentLimits === null && modelLimits === null) return;
      // Counted once for all three owners, and only when a cap needs it.
      size.value = undefined;
      check(context, keyLimits, size);
      check(context, departmentLimits, size);
      check(context, modelLimits, size);
    },
  };
}
