// The pipeline's stages, declared once in the order they admit: a new stage is its own file and one line below.
import type { BudgetGuard } from '../../budgets/guard.js';
import type { KeyPolicy, ResolvedConfig } from '../../config/resolve.js';
import type { RateLimitStore } from '../../guards/rate-limits.js';
import type { LedgerStore } from '../../ledger/index.js';
import type { SessionBreaker } from '../../sessions/breaker.js';
import type { Stage } from '../context.js';
import type { Telemetry } from '../telemetry.js';
import { accessStage } from './access-stage.js';
import { createAgentStage } from './agent-stage.js';
import { createBudgetStage } from './budget-stage.js';
import { createDriftStage } from './drift-stage.js';
import type { LiveDrift } from '../../drift/live.js';
import { createLedgerStage } from './ledger-stage.js';
import { createTelemetryStage } from './telemetry-stage.js';
import { createLimitsStage, usesLimits } from './limits-stage.js';
import { createRateLimitStage, usesRateLimits } from './rate-limit-stage.js';
import { createStagingStage, usesStaging } from './staging-stage.js';
import { createModelVersionStage, type ModelStageServices } from './model-version-stage.js';

/** What stages are built from: the config they start with, the live config, and the stores they write to. */
export interface StageServices {
  /** The config the list is built from (a stage a config does not use is left out). */
  config: ResolvedConfig;
  /** The config in force at each request (reloads swap it). */
  current: () => ResolvedConfig;
  guard: BudgetGuard;
  rateLimits: RateLimitStore;
  /** The longest a request may run: a crashed replica's concurrency slots are freed after it. */
  maxRequestMs: () => number;
  /** Undefined only in the benchmark that measures the gateway without its ledger. */
  ledger: LedgerStore | undefined;
  /** The agent-loop breaker (undefined: none, as in tests that build a bare pipeline). */
  sessions?: SessionBreaker;
  onError: (error: unknown, where: string) => void;
  /** Trace export; undefined when the config has no `telemetry` (then no stage, no span). */
  telemetry?: Telemetry;
  /** What the admin-API keys set (a guard one of them sets keeps its stage in the list); none when omitted. */
  apiKeys?: ApiKeyGuards;
  /** The model registry's stage (blocked aliases, deprecation headers, silent-change detection, shadow traffic); none when omitted. */
  models?: ModelStageServices;
  /** Live drift monitoring (an observer); none when omitted. */
  drift?: LiveDrift;
}

/** The guards of the admin-API keys, so a stage no config key needs is still built when such a key needs it. */
export interface ApiKeyGuards {
  policies: readonly KeyPolicy[];
  agent: boolean;
}

/** One entry per stage, in admission order; undefined leaves the stage out. */
const declared: readonly ((services: StageServices) => Stage | undefined)[] = [
  (services) => services.telemetry && createTelemetryStage(services.telemetry),
  () => accessStage,
  (services) => (usesStaging(services.config, services.apiKeys?.policies) ? createStagingStage(services.current) : undefined),
  (services) => services.models && createModelVersionStage(services.models),
  (services) => (usesLimits(services.config, services.apiKeys?.policies) ? createLimitsStage(services.current) : undefined),
  (services) => (usesRateLimits(services.config, services.apiKeys?.policies)
    ? createRateLimitStage(services.rateLimits, services.current, services.maxRequestMs) : undefined),
  (services) => createAgentStage(services.sessions, services.config, services.current, services.apiKeys?.agent ?? false),
  (services) => createBudgetStage(services.guard, services.current),
  (services) => services.ledger && createLedgerStage(services.ledger, () => services.current().version, services.onError),
  (services) => services.drift && createDriftStage(services.drift),
];

/** The stage list for a config, in admission order. */
export function buildStages(services: StageServices): Stage[] {
  const stages: Stage[] = [];
  for (const create of declared) {
    const stage = create(services);
    if (stage) stages.push(stage);
  }
  return stages;
}
