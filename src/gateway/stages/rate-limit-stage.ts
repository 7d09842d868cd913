// Pipeline stage for rate limits per key, department and end user: requests, tokens (the reserved worst case) and requests in flight.
import type { ChatRequest } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { formatScope } from '../../core/scope.js';
import { retryAfterSeconds, windowSeconds, type RateDecision, type RateLimitStore, type RateRequest, type RateRule } from '../../guards/rate-limits.js';
import type { KeyPolicy, ResolvedConfig, ResolvedRateLimit } from '../../config/resolve.js';
import type { KeyRecord } from '../../stores/records.js';
import type { CallContext, Stage } from '../context.js';
import { requestPromptBound } from '../prompt-bound.js';
import { keyPolicyLookup, usesKeyPolicies } from './key-policy.js';

/** What a request took from the counters, until finish gives back its slot and corrects its tokens. */
interface RateGrant {
  rules: readonly RateRule[];
  admittedMs: number;
  tokens: number;
}

declare module '../context.js' {
  interface StageState {
    rateLimit?: RateGrant;
  }
}

/** Whether a config (or one of the admin-API keys' policies) sets a rate limit anywhere. */
export function usesRateLimits(config: ResolvedConfig, apiKeys: readonly KeyPolicy[] = []): boolean {
  if (usesKeyPolicies(config, (policy) => policy.rateLimit !== null, apiKeys)) return true;
  for (const department of config.departments.values()) if (department.rateLimit !== null || department.userRateLimit !== null) return true;
  return false;
}

function rule(scope: string, label: string, limit: ResolvedRateLimit): RateRule {
  return { scope, label, rpm: limit.rpm, tpm: limit.tpm, concurrent: limit.concurrent };
}

/** An end user's rule, made for each request: its label is formatted only when a refusal shows it. */
class UserRule implements RateRule {
  readonly rpm: number;
  readonly tpm: number;
  readonly concurrent: number;

  constructor(readonly scope: string, private readonly user: string, private readonly department: string, limit: ResolvedRateLimit) {
    this.rpm = limit.rpm;
    this.tpm = limit.tpm;
    this.concurrent = limit.concurrent;
  }

  get label(): string {
    return `end user "${this.user}" of department "${this.department}"`;
  }
}

/** The tokens a request may use at most: the prompt's upper bound plus every choice's output allowance, as budgets reserve. */
function worstCaseTokens(context: CallContext): number {
  const bound = requestPromptBound(context);
  if (context.route === 'embeddings') return bound;
  return bound + context.maxOutputTokens * ((context.upstreamRequest as ChatRequest).n ?? 1);
}

function refusal(decision: Extract<RateDecision, { ok: false }>, rules: readonly RateRule[], tokens: number): CovenantError {
  const limited = rules[decision.rule]!;
  const seconds = retryAfterSeconds(decision.retryAfterMs);
  let detail: string;
  if (decision.limit === 'concurrent') {
    detail = `Rate limit of ${limited.label} reached: concurrent ${limited.concurrent} (requests in flight). Retry when one finishes.`;
  } else if (decision.limit === 'tpm' && tokens > limited.tpm) {
    detail = `Rate limit of ${limited.label}: this request may use up to ${tokens} tokens, more than its tpm of ${limited.tpm} allows in a minute; lower max_tokens or shorten the prompt.`;
  } else {
    const value = decision.limit === 'rpm' ? limited.rpm : limited.tpm;
    detail = `Rate limit of ${limited.label} reached: ${decision.limit} ${value} (per ${windowSeconds} seconds). Retry after ${seconds} s.`;
  }
  return new CovenantError('rate_limit_exceeded', detail, { headers: { 'retry-after': String(seconds) } });
}

/** The rules of a key (and its department) without the end user's, remembered per key and config. */
function keyRulesCache(policyOf: ReturnType<typeof keyPolicyLookup>): (config: ResolvedConfig, context: CallContext) => readonly RateRule[] {
  const cache = new WeakMap<KeyRecord, { config: ResolvedConfig; department: CallContext['department']; rules: readonly RateRule[] }>();
  return (config, context) => {
    const { key, department } = context;
    const cached = cache.get(key);
    if (cached && cached.config === config && cached.department === department) return cached.rules;
    const rules: RateRule[] = [];
    const keyLimit = policyOf(config, key)?.rateLimit ?? null;
    if (keyLimit !== null) rules.push(rule(formatScope({ kind: 'key', id: key.id }), `key "${key.department}/${key.name}"`, keyLimit));
    if (department.rateLimit !== null) rules.push(rule(formatScope({ kind: 'department', department: department.name }), `department "${department.name}"`, department.rateLimit));
    cache.set(key, { config, department, rules });
    return rules;
  };
}

export function createRateLimitStage(store: RateLimitStore, config: () => ResolvedConfig, leaseMs: () => number, now: () => number = Date.now): Stage {
  const rulesOf = keyRulesCache(keyPolicyLookup());
  // One request object for every call: stores read it before they return (RateLimitStore.acquire), so it is reused.
  const request: RateRequest = { id: '', nowMs: 0, tokens: 0, rules: [], leaseMs: 0 };
  const admit = (context: CallContext, grant: RateGrant, decision: RateDecision) => {
    if (!decision.ok) throw refusal(decision, grant.rules, grant.tokens);
    context.state.rateLimit = grant;
  };
  return {
    name: 'rate_limit',

    admit(context) {
      let rules = rulesOf(config(), context);
      const department = context.department;
      if (context.user !== null && department.userRateLimit !== null) {
        const scope = formatScope({ kind: 'user', department: department.name, user: context.user });
        rules = rules.concat(new UserRule(scope, context.user, department.name, department.userRateLimit));
      }
      if (rules.length === 0) return;
      let tokens = 0;
      for (const each of rules) {
        if (each.tpm > 0) {
          tokens = worstCaseTokens(context);
          break;
        }
      }
      const grant: RateGrant = { rules, admittedMs: now(), tokens };
      request.id = context.id;
      request.nowMs = grant.admittedMs;
      request.tokens = tokens;
      request.rules = rules;
      request.leaseMs = leaseMs();
      const decision = store.acquire(request);
      // The memory store answers at once: no await, no promise on the embedded hot path.
      if (decision instanceof Promise) return decision.then((settled) => admit(context, grant, settled));
      admit(context, grant, decision);
    },

    finish(context) {
      const grant = context.state.rateLimit;
      if (!grant) return;
      const outcome = context.outcome;
      let used = 0;
      if (outcome.kind === 'completed') {
        // Reported usage corrects the reservation; unreported usage keeps the worst case.
        used = context.usageEstimated || context.usage === undefined ? grant.tokens : context.usage.inputTokens + context.usage.outputTokens;
      } else if (outcome.kind === 'failed' && outcome.error.code === 'upstream_timeout') {
        used = grant.tokens;
      }
      return store.release({ id: context.id, admittedMs: grant.admittedMs, nowMs: now(), tokenDelta: used - grant.tokens, rules: grant.rules });
    },
  };
}
