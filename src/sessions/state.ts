// The agent-loop breaker's decision for one step of a session (pure): count, check every policy, take or trip.
import { hash } from 'node:crypto';
import { decideBudget } from '../core/budget-math.js';
import type { ChatRequest, ContentPart } from '../core/chat-types.js';
import { formatMicros } from '../core/money.js';
import type { ModelPricing } from '../core/pricing.js';
import type { AgentPolicy } from '../config/resolve.js';
import type { StateChange } from './store.js';

export type AgentPolicyName = 'max_steps' | 'max_session_usd' | 'max_identical_requests' | 'max_repeated_tool_calls' | 'max_duration';

/** Why a session was suspended: the policy, the count that broke it and its limit, in words for the 403. */
export interface Trip {
  policy: AgentPolicyName;
  count: number;
  limit: number;
  message: string;
  at: number;
}

/** One session's hot state (JSON: Redis keeps it as a string). Times are epoch milliseconds; money is micro-dollars. */
export interface SessionState {
  startedAt: number;
  lastAt: number;
  steps: number;
  spentMicros: number;
  /**
   * Worst-case reservations of steps still running, as [request id, micro-dollars] pairs; a crashed step's stays until
   * the state expires. Pairs, not an object keyed by id: copying a small array is cheap, while objects with ever-new
   * keys fall back to slow dictionary copies on every step.
   */
  reservations: [string, number][];
  /** Hash of a request body → when it was sent, within the identical-request window. */
  bodies: Record<string, number[]>;
  /** Tool signature (name and arguments) → the tool call ids seen with it, so a resent conversation counts each call once. */
  toolCalls: Record<string, { name: string; ids: string[] }>;
  suspended: Trip | null;
}

/** A tool call found in the request's history. */
export interface ToolCallSeen {
  signature: string;
  name: string;
  id: string;
}

/** What the worst-case cost of a step needs (the budget stage's inputs). */
export interface StepCost {
  pricing: ModelPricing;
  promptTokens: number;
  requestedMaxTokens: number | null;
  modelMaxOutput: number;
  minOutputTokens: number;
  choices: number;
}

export interface StepInput {
  now: number;
  requestId: string;
  /** The body's hash, when the policy counts identical requests. */
  bodyHash?: string;
  /** The history's tool calls, when the policy counts repeated ones. */
  toolCalls?: readonly ToolCallSeen[];
  /** When the policy caps the session's spend. */
  cost?: StepCost;
}

export type StepVerdict =
  /** Taken: the step is counted and its worst case reserved; `maxTokens` is what the session affords. */
  | { kind: 'admitted'; maxTokens: number | null; reservedMicros: number }
  /** This step broke a policy and suspended the session (exactly one step does). */
  | { kind: 'tripped'; trip: Trip; state: SessionState }
  /** The session was already suspended. */
  | { kind: 'suspended'; trip: Trip }
  /** There is no state: the caller checks the durable suspensions, then decides again with `known`. */
  | { kind: 'unknown' };

/** Entries kept per map, so a session's state stays small however long it runs. */
const entryLimit = 256;

/** How long a session's state lives after its last change. */
export function stateTtl(policy: AgentPolicy): number {
  return Math.max(policy.idleMs, policy.identicalWindowMs, 1000);
}

function newState(now: number): SessionState {
  return { startedAt: now, lastAt: now, steps: 0, spentMicros: 0, reservations: [], bodies: {}, toolCalls: {}, suspended: null };
}

function trip(policy: AgentPolicyName, count: number, limit: number, message: string, at: number): Trip {
  return { policy, count, limit, message, at };
}

function seconds(milliseconds: number): string {
  return `${Math.floor(milliseconds / 1000)} s`;
}

function reservedMicros(state: SessionState): number {
  let total = 0;
  for (const reservation of state.reservations) total += reservation[1];
  return total;
}

/** The identical-request check: the body's earlier sends still inside the window, plus this one. */
function bodyTimes(state: SessionState, bodyHash: string, now: number, windowMs: number): number[] {
  return (state.bodies[bodyHash] ?? []).filter((time) => now - time < windowMs).concat(now);
}

/** The tool calls after merging the history's: each signature's ids, new ones appended. */
function mergedToolCalls(state: SessionState, seen: readonly ToolCallSeen[]): SessionState['toolCalls'] {
  const merged: SessionState['toolCalls'] = { ...state.toolCalls };
  for (const call of seen) {
    const entry = merged[call.signature];
    if (entry?.ids.includes(call.id)) continue;
    if (!entry && Object.keys(merged).length >= entryLimit) continue;
    merged[call.signature] = { name: call.name, ids: [...(entry?.ids ?? []), call.id].slice(-entryLimit) };
  }
  return merged;
}

/**
 * Decide one step. `known`: the durable store has been asked and holds no active suspension for this session, so a
 * missing state may start fresh. A step that breaks a policy is not counted: it suspends the session instead.
 */
export function decideStep(state: SessionState | undefined, policy: AgentPolicy, input: StepInput, known: boolean): StateChange<StepVerdict> {
  const ttlMs = stateTtl(policy);
  if (!state && !known) return { state: null, ttlMs, result: { kind: 'unknown' } };
  if (state?.suspended) return { state: null, ttlMs, result: { kind: 'suspended', trip: state.suspended } };
  const now = input.now;
  const current = state ?? newState(now);
  const suspend = (broken: Trip): StateChange<StepVerdict> => {
    const next = { ...current, lastAt: now, suspended: broken };
    return { state: next, ttlMs, result: { kind: 'tripped', trip: broken, state: next } };
  };

  if (policy.maxDurationMs !== null && now - current.startedAt > policy.maxDurationMs) {
    const age = now - current.startedAt;
    return suspend(trip('max_duration', Math.floor(age / 1000), Math.floor(policy.maxDurationMs / 1000),
      `max_duration: the session has run for ${seconds(age)}, over the limit of ${seconds(policy.maxDurationMs)}`, now));
  }
  const steps = current.steps + 1;
  if (policy.maxSteps !== null && steps > policy.maxSteps) {
    return suspend(trip('max_steps', steps, policy.maxSteps, `max_steps: step ${steps} is over the limit of ${policy.maxSteps} steps`, now));
  }
  let bodies = current.bodies;
  if (policy.maxIdenticalRequests !== null && input.bodyHash !== undefined) {
    const times = bodyTimes(current, input.bodyHash, now, policy.identicalWindowMs);
    if (times.length > policy.maxIdenticalRequests) {
      return suspend(trip('max_identical_requests', times.length, policy.maxIdenticalRequests,
        `max_identical_requests: the same request body was sent ${times.length} times within ${seconds(policy.identicalWindowMs)}, over the limit of ${policy.maxIdenticalRequests}`, now));
    }
    bodies = {};
    // Only bodies still inside the window are kept; past the entry limit the oldest go.
    const kept = Object.entries(current.bodies)
      .map(([key, list]) => [key, list.filter((time) => now - time < policy.identicalWindowMs)] as const)
      .filter(([key, list]) => list.length > 0 && key !== input.bodyHash)
      .slice(-(entryLimit - 1));
    for (const [key, list] of kept) bodies[key] = list;
    bodies[input.bodyHash] = times.slice(-(policy.maxIdenticalRequests + 1));
  }
  let toolCalls = current.toolCalls;
  if (policy.maxRepeatedToolCalls !== null && input.toolCalls && input.toolCalls.length > 0) {
    toolCalls = mergedToolCalls(current, input.toolCalls);
    for (const entry of Object.values(toolCalls)) {
      if (entry.ids.length > policy.maxRepeatedToolCalls) {
        return suspend(trip('max_repeated_tool_calls', entry.ids.length, policy.maxRepeatedToolCalls,
          `max_repeated_tool_calls: the tool "${entry.name}" was called ${entry.ids.length} times with the same arguments, over the limit of ${policy.maxRepeatedToolCalls}`, now));
      }
    }
  }
  let maxTokens: number | null = null;
  let reserve = 0;
  if (policy.maxSessionMicros !== null && input.cost) {
    const cost = input.cost;
    const reserved = reservedMicros(current);
    const decision = decideBudget({
      budgets: [{ scope: 'session', unit: 'usd', period: 'total', counterKey: 'session', limit: policy.maxSessionMicros, spent: current.spentMicros, reserved }],
      pricing: cost.pricing, promptTokens: cost.promptTokens, requestedMaxTokens: cost.requestedMaxTokens,
      modelMaxOutput: cost.modelMaxOutput, minOutputTokens: cost.minOutputTokens, choices: cost.choices,
    });
    if (!decision.allow) {
      return suspend(trip('max_session_usd', current.spentMicros + reserved, policy.maxSessionMicros,
        `max_session_usd: the session has spent $${formatMicros(current.spentMicros)} with $${formatMicros(reserved)} reserved, `
        + `and affords ${decision.affordableOutputTokens} more output tokens under the limit of $${formatMicros(policy.maxSessionMicros)}`, now));
    }
    maxTokens = decision.maxTokens;
    reserve = decision.amounts[0]?.amount ?? 0;
  }
  // Every field written out: a spread that then overrides fields makes V8 build the object the slow way, on every step.
  const next: SessionState = {
    startedAt: current.startedAt, lastAt: now, steps, spentMicros: current.spentMicros,
    reservations: reserve > 0 ? [...current.reservations, [input.requestId, reserve]] : current.reservations,
    bodies, toolCalls, suspended: current.suspended,
  };
  return { state: next, ttlMs, result: { kind: 'admitted', maxTokens, reservedMicros: reserve } };
}

/**
 * End a step's reservation: `actualMicros` moves into the spend (undefined: the worst case, when usage is unknown);
 * `release` drops it (nothing was billed). A state that is gone (expired, or reset by a resume) is left alone.
 */
export function settleStep(state: SessionState | undefined, requestId: string, ttlMs: number, outcome: { release: true } | { actualMicros?: number }): StateChange<void> {
  const index = state ? state.reservations.findIndex((reservation) => reservation[0] === requestId) : -1;
  if (!state || index < 0) return { state: null, ttlMs, result: undefined };
  const held = state.reservations[index]![1];
  const reservations = state.reservations.slice(0, index).concat(state.reservations.slice(index + 1));
  const charged = 'release' in outcome ? 0 : (outcome.actualMicros ?? held);
  const next: SessionState = {
    startedAt: state.startedAt, lastAt: state.lastAt, steps: state.steps, spentMicros: state.spentMicros + charged,
    reservations, bodies: state.bodies, toolCalls: state.toolCalls, suspended: state.suspended,
  };
  return { state: next, ttlMs, result: undefined };
}

/** The state of a session suspended by a record found in the durable store (its hot state had expired). */
export function suspendedState(suspension: Trip, now: number): SessionState {
  return { ...newState(now), suspended: suspension };
}

function shortHash(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 32);
}

function contentText(content: string | ContentPart[] | null | undefined): string {
  return typeof content === 'string' ? content : JSON.stringify(content ?? null);
}

/**
 * A session's id: from the x-covenant-session header when sent, else from the conversation itself (its first system
 * and user messages), because agent frameworks resend the growing conversation at every step. Both are per key; a
 * conversation is also per end user, so different users opening with the same words are different sessions.
 */
export function sessionId(keyId: string, header: string | null, request: ChatRequest | undefined, user: string | null = null): string {
  if (header !== null) return `ses_${shortHash(`${keyId}\u0000header\u0000${header}`).slice(0, 24)}`;
  const messages = request?.messages ?? [];
  const system = messages.find((message) => message.role === 'system' || message.role === 'developer');
  const first = messages.find((message) => message.role === 'user');
  const text = `${keyId}\u0000conversation\u0000${user ?? ''}\u0000${contentText(system?.content)}\u0000${contentText(first?.content)}`;
  return `ses_${shortHash(text).slice(0, 24)}`;
}

/** The body's hash, for the identical-request count. */
export function bodyHash(rawBody: string): string {
  return shortHash(rawBody);
}

/** Every tool call in the assistant messages of the history, named by tool and arguments (calls without an id by position). */
export function historyToolCalls(request: ChatRequest): ToolCallSeen[] {
  const seen: ToolCallSeen[] = [];
  request.messages.forEach((message, position) => {
    if (message.role !== 'assistant' || !Array.isArray(message.tool_calls)) return;
    message.tool_calls.forEach((call, index) => {
      const name = call.function?.name ?? '';
      const argumentsText = (call.function?.arguments ?? '').trim();
      seen.push({ signature: shortHash(`${name}\u0000${argumentsText}`), name, id: call.id || `position:${position}:${index}` });
    });
  });
  return seen;
}
