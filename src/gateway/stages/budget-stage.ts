// Pipeline stage for hard budgets: reserve the worst case in every applicable budget before the call, settle or release after.
import type { BudgetGuard, BudgetHandle, BudgetScope } from '../../budgets/guard.js';
import type { ChatRequest } from '../../core/chat-types.js';
import { formatScope, scopeLabel, type Scope } from '../../core/scope.js';
import { hasExactTokenizer } from '../../core/tokens.js';
import { countPromptTokensExact } from '../../providers/openai/tokenizer.js';
import { requestPromptBound } from '../prompt-bound.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import type { CallContext, Stage } from '../context.js';

declare module '../context.js' {
  interface StageState {
    /** The reservation this request holds, until finish settles or releases it. */
    budget?: BudgetHandle;
  }
}

/** The budget scopes a request falls under, tightest last: org, department, key, end user. */
export function budgetScopes(config: ResolvedConfig, context: Pick<CallContext, 'department' | 'key' | 'user'>): BudgetScope[] {
  const department = context.department;
  const scopes = sharedScopes(config, department);
  if (context.key.budgets.length > 0) scopes.push(keyScope(context.key, department));
  if (context.user && department.userBudgets.length > 0) scopes.push(userScope(department, context.user));
  return scopes;
}

/** The org's and the department's scopes: the same for every key of the department. */
function sharedScopes(config: ResolvedConfig, department: CallContext['department']): BudgetScope[] {
  const scopes: BudgetScope[] = [];
  if (config.org.budgets.length > 0) scopes.push({ scope: formatScope({ kind: 'org' }), budgets: config.org.budgets, alerts: config.org.alerts });
  if (department.budgets.length > 0) {
    scopes.push({ scope: formatScope({ kind: 'department', department: department.name }), budgets: department.budgets, alerts: department.alerts });
  }
  return scopes;
}

/** A key's scopes without the end user's, valid while the config, department and key fields they came from are the same. */
interface KeyScopes {
  config: ResolvedConfig;
  department: CallContext['department'];
  id: string;
  name: string;
  keyDepartment: string;
  budgets: CallContext['key']['budgets'];
  scopes: readonly BudgetScope[];
}

/** The org's and a department's scopes, one array per department and config, shared by all the department's keys. */
interface DepartmentScopes {
  config: ResolvedConfig;
  scopes: readonly BudgetScope[];
}

/**
 * budgetScopes, reusing each key's scope objects while nothing they came from changed: the guard caches its work
 * per scope, and the same strings and objects save it the hashing and the garbage. Every key holds its entry while it
 * lives (a hundred thousand keys, a hundred thousand entries), so the org's and department's scopes are shared and a
 * key holds only its own; an end user's request adds the user's scope to the key's.
 */
function scopesCache(): (config: ResolvedConfig, context: Pick<CallContext, 'department' | 'key' | 'user'>) => readonly BudgetScope[] {
  const byDepartment = new WeakMap<object, DepartmentScopes>();
  const byKey = new WeakMap<object, KeyScopes>();
  const departmentScopes = (config: ResolvedConfig, department: CallContext['department']): readonly BudgetScope[] => {
    let cached = byDepartment.get(department);
    if (!cached || cached.config !== config) {
      cached = { config, scopes: sharedScopes(config, department) };
      byDepartment.set(department, cached);
    }
    return cached.scopes;
  };
  return (config, context) => {
    const { key, department } = context;
    let cached = byKey.get(key);
    if (!cached || cached.config !== config || cached.department !== department || cached.budgets !== key.budgets
      || cached.id !== key.id || cached.name !== key.name || cached.keyDepartment !== key.department) {
      const shared = departmentScopes(config, department);
      // concat sizes the array exactly; a spread leaves room to grow (200 bytes instead of 72, a hundred thousand times).
      const scopes = key.budgets.length === 0 ? shared : shared.concat(keyScope(key, department));
      cached = { config, department, id: key.id, name: key.name, keyDepartment: key.department, budgets: key.budgets, scopes };
      byKey.set(key, cached);
    }
    if (!context.user || department.userBudgets.length === 0) return cached.scopes;
    return cached.scopes.concat(userScope(department, context.user));
  };
}

/** A key's own budget scope, as budgetScopes builds it. */
function keyScope(key: CallContext['key'], department: CallContext['department']): BudgetScope {
  const scope: Scope = { kind: 'key', id: key.id };
  return { scope: formatScope(scope), label: scopeLabel(scope, key), budgets: key.budgets, alerts: department.alerts };
}

/** An end user's budget scope, as budgetScopes builds it. */
function userScope(department: CallContext['department'], user: string): BudgetScope {
  return { scope: formatScope({ kind: 'user', department: department.name, user }), budgets: department.userBudgets, alerts: department.alerts };
}

export function createBudgetStage(guard: BudgetGuard, config: () => ResolvedConfig): Stage {
  const scopesOf = scopesCache();
  return {
    name: 'budget',

    async admit(context) {
      const resolved = config();
      const scopes = scopesOf(resolved, context);
      if (scopes.length === 0) return;
      const request = context.upstreamRequest;
      const version = context.model.version;
      const isChat = context.route !== 'embeddings';
      const chat = request as ChatRequest;
      const requested = isChat ? (chat.max_completion_tokens ?? chat.max_tokens ?? null) : 1;
      const handle = await guard.reserve({
        requestId: context.id,
        scopes,
        timeZone: resolved.org.timeZone,
        pricing: context.model.pricing,
        prompt: {
          bound: requestPromptBound(context),
          exact: isChat && context.model.providerType === 'openai' && hasExactTokenizer(version)
            ? () => countPromptTokensExact(chat, version)
            : undefined,
        },
        requestedMaxTokens: requested,
        modelMaxOutput: isChat ? context.model.maxOutputTokens : 1,
        choices: isChat ? (chat.n ?? 1) : 1,
      });
      context.state.budget = handle;
      if (!isChat) return;
      // Always send the reserved ceiling upstream, so the provider can never produce more than was reserved. Reasoning
      // is produced within it too: Anthropic's extended thinking and Gemini's thoughts count within max_tokens /
      // maxOutputTokens, and their thinking budgets are kept below it (anthropic/convert-anthropic-thinking.ts, gemini/convert-to-gemini-request.ts).
      if (chat.max_completion_tokens != null) chat.max_completion_tokens = handle.maxTokens;
      else chat.max_tokens = handle.maxTokens;
      context.maxOutputTokens = handle.maxTokens;
      context.responseHeaders['x-covenant-max-tokens'] = String(handle.maxTokens);
    },

    async finish(context) {
      const handle = context.state.budget;
      if (!handle) return;
      const outcome = context.outcome;
      if (outcome.kind === 'completed') {
        // Unreported usage keeps the reservation's worst case; reported usage settles to the bill.
        await guard.settle(handle, context.usageEstimated ? {} : { usage: context.usage, costMicros: context.costMicros });
      } else if (outcome.kind === 'failed' && outcome.error.code === 'upstream_timeout') {
        // A provider that timed out may still have generated (and billed) the answer: keep the worst case.
        await guard.settle(handle, {});
      } else {
        // Refused before the call, or the provider answered with an error: nothing was billed.
        await guard.release(handle);
      }
    },
  };
}
