// Assembles a running Covenant from a resolved config: stores, providers, pipeline stages, HTTP server; start, reload, stop.
import { maskUrl } from '../core/secrets.js';
import type { FastifyInstance } from 'fastify';
import { AlertNotifier, type AlertRecord } from '../budgets/alerts.js';
import { BurnRateTracker, burnRateWindows } from '../budgets/burn-rate.js';
import { BudgetGuard } from '../budgets/guard.js';
import { pruneClosedWindows, windowClosedEntry } from '../budgets/window-pruning.js';
import { resolveConfig, type KeyPolicy, type ResolvedConfig } from '../config/resolve.js';
import { loadConfigFile, parseConfigText, type LoadedConfig } from '../config/load.js';
import { demoConfigText, demoEnvironment } from '../config/demo.js';
import { parseScope, scopeDepartment, scopeLabel } from '../core/scope.js';
import { encodingForModel, type EncodingName } from '../core/tokens.js';
import { preloadEncoding } from '../providers/openai/tokenizer.js';
import type { LedgerEntryInput } from '../ledger/index.js';
import { createProviders } from '../providers/registry.js';
import { MockBehaviours, type MockBehaviour } from '../providers/mock/behaviour.js';
import { SessionBreaker } from '../sessions/breaker.js';
import { AlertSender } from '../decisions/alerts.js';
import { AlertRaiser } from '../alerts/raiser.js';
import { DecisionOversight } from '../decisions/oversight.js';
import { startOverdueSweep } from '../decisions/overdue-sweep.js';
import { LiveDrift, type LiveDriftOptions } from '../drift/live.js';
import { openStores, type Stores } from '../stores/index.js';
import { createMemoryBudgetStore } from '../stores/memory/budget-store.js';
import type { KeyRecord } from '../stores/records.js';
import type { AdminPrincipal } from './admin-auth.js';
import { recordAddress } from './address-file.js';
import { Gateway } from './gateway.js';
import { KeyIndex } from './keys.js';
import { Metrics } from './metrics.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerDriftRoutes } from './routes/drift.js';
import { registerProviderRoutes } from './routes/providers.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerInventoryRoutes, type ContractChecksReader } from './routes/inventory.js';
import { SourcingWorkbench } from '../sourcing/workbench.js';
import { registerAiSystemRoutes } from './routes/ai-systems.js';
import { registerDecisionRoutes } from './routes/decisions.js';
import { registerReviewRoutes } from './routes/reviews.js';
import { checkPayload, registerContractRoutes } from './routes/contracts.js';
import { ContractWorkbench } from '../sourcing/contract-workbench.js';
import { registerSpendRoutes } from './routes/spend.js';
import { createServer } from './server.js';
import { ConsoleSessions } from '../console/sessions.js';
import { budgetChanges } from './budget-changes.js';
import { inputLimits } from './input-limits.js';
import { buildStages, type ApiKeyGuards, type StageServices } from './stages/index.js';
import { apiKeyPolicy } from './stages/key-policy.js';
import { TelemetryHolder } from './telemetry.js';
import { usesLimits } from './stages/limits-stage.js';
import { ModelRegistry } from '../models/registry.js';
import { registryVersions } from './registry-versions.js';
import { registerModelRoutes } from './routes/models.js';
import { registerMockRoutes } from './routes/mock.js';
import { contractDriftTerms, persistLiveDrift, replicaId, rollbackOnMaterialDrift } from './drift-wiring.js';
import { materialDriftAlert, recordContractAlerts } from './alert-wiring.js';
import { recoverInterruptedAlerts } from './alert-recovery.js';
import { embeddingSimilarity } from '../models/similarity.js';

export interface AppOptions {
  /** Config file path; undefined for the built-in demo. */
  configFile?: string;
  /** Config text instead of a file (tests). */
  configText?: string;
  environment?: Record<string, string | undefined>;
  host?: string;
  port?: number;
  logger?: boolean;
  /** Benchmark only (bench/covenant-without-ledger.mjs): run without the ledger stage to measure what it costs. */
  withoutLedgerStage?: boolean;
  /** The system report's contract checks; default: the contract checks recorded on this gateway (POST /admin/contract-checks). */
  contractChecks?: ContractChecksReader;
  /**
   * Live drift: the alias's terms (`terms`; default: the config's contract.drift), a material-drift callback
   * (`onMaterialDrift`, called after the registry's rollback), and the clock and periods (tests shorten them).
   */
  liveDrift?: Omit<LiveDriftOptions, 'record' | 'alert' | 'onError'>;
}

export interface App {
  config: ResolvedConfig;
  gateway: Gateway;
  server: FastifyInstance;
  stores: Stores;
  /** Decision oversight: decisions, reviews, live bias and SLA monitors. */
  decisions: DecisionOversight;
  /** The model registry: versions, moves, silent-change detection; `rollbackOnDrift` is the live drift monitor's hook. */
  models: ModelRegistry;
  /** The base URL once listening, e.g. http://127.0.0.1:4141 */
  url: string;
  reload(by?: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** An error's message and, when it wraps another (a store's refusal over the driver's error), that one's too. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

function load(options: AppOptions): { loaded: LoadedConfig; environment: Record<string, string | undefined> } {
  const environment = { ...(options.environment ?? process.env) };
  if (options.configText !== undefined) return { loaded: parseConfigText(options.configText, '<config>'), environment };
  if (options.configFile) return { loaded: loadConfigFile(options.configFile), environment };
  return { loaded: parseConfigText(demoConfigText, '<demo>'), environment: { ...demoEnvironment, ...environment } };
}

/** Load the tokenizer tables the configured OpenAI models need now, not on the first request near a limit or cap. */
function preloadTokenizers(config: ResolvedConfig): void {
  const hasBudgets = config.org.budgets.length > 0 || [...config.departments.values()].some((department) => department.budgets.length > 0 || department.userBudgets.length > 0)
    || config.configKeys.some((key) => key.budgets.length > 0);
  // Caps on a prompt's size or cost count OpenAI prompts exactly when the cheap bound is over them.
  if (!hasBudgets && !usesLimits(config)) return;
  const encodings = new Set<EncodingName>();
  for (const model of config.models.values()) {
    if (model.providerType !== 'openai' || model.type !== 'chat') continue;
    const encoding = encodingForModel(model.version);
    if (encoding) encodings.add(encoding);
  }
  for (const encoding of encodings) preloadEncoding(encoding);
}

/** What an alert.fired entry carries beside the alert's scope: its department (for tenant isolation) and how people read it. */
function alertScopeFields(scope: string, keyOf: (id: string) => Pick<KeyRecord, 'department' | 'name'> | undefined): { department?: string; label: string } {
  const parsed = parseScope(scope);
  if (!parsed) return { label: scope };
  const key = parsed.kind === 'key' ? keyOf(parsed.id) : undefined;
  return { department: scopeDepartment(parsed, () => key?.department), label: scopeLabel(parsed, key) };
}

/** Every `burn_rate` section of the config (org and departments), for the tracker's resolution and retention. */
function configuredBurnRates(config: ResolvedConfig) {
  const sections = [config.org.alerts, ...[...config.departments.values()].map((department) => department.alerts)];
  return [burnRateWindows(undefined), ...sections.filter((alerts) => alerts?.burn_rate).map((alerts) => burnRateWindows(alerts?.burn_rate))];
}

export async function startApp(options: AppOptions = {}): Promise<App> {
  const { loaded, environment } = load(options);
  let config = resolveConfig(loaded, environment);
  const onError = (error: unknown, where: string) => process.emitWarning(`${where}: ${describeError(error)}`);
  const stores = await openStores(config, onError);
  const keys = new KeyIndex(stores.keys);
  await keys.load(config.configKeys, new Date());
  const metrics = new Metrics();
  const ledger = stores.ledger;
  /** Governance events go to the ledger; a failure to record one is logged, never swallowed silently. */
  const record = (entry: LedgerEntryInput) => ledger.append(entry).then(() => undefined, (error) => onError(error, `ledger ${entry.kind}`));

  const burnRate = new BurnRateTracker(configuredBurnRates(config));
  const notifier = new AlertNotifier({
    store: stores.alerts,
    onError,
    burnRate,
    onRecorded: (alert: AlertRecord) => record({
      kind: 'alert.fired', alert: alert.kind, ...alertScopeFields(alert.scope, (id) => keys.known(id)), scope: alert.scope,
      budget: { unit: alert.unit, period: alert.period, window: alert.windowKey, limit: alert.limit }, spent: alert.spent,
      threshold: alert.threshold,
      ...(alert.kind === 'threshold' ? {} : {
        projected_exhaustion_at: alert.projectedAt ?? null, rate_per_hour: alert.ratePerHour ?? null, baseline_per_hour: alert.baselinePerHour ?? null,
      }),
      webhook: alert.webhook === undefined ? null : maskUrl(alert.webhook), config_version: config.version,
    }),
  });
  const guard = new BudgetGuard({ store: stores.budgets, settings: config.budgetSettings, alerts: notifier, burnRate, onError, localCapStore: createMemoryBudgetStore() });
  const maxRequestMs = () => config.server.upstream_timeout_ms + config.server.shutdown_grace_ms + 60_000;
  // Per-user state in memory, bounded and expiring: what the scale benchmark watches.
  metrics.trackState('budget_counters', () => (stores.budgets as { cachedCounters?: number }).cachedCounters);
  metrics.trackState('budget_scopes', () => guard.cachedScopes);
  metrics.trackState('burn_rate_counters', () => burnRate.size);
  metrics.trackState('rate_limit_counters', () => (stores.rateLimits as { size?: number }).size);
  // An embedded database has one owner: every reservation left in it is a crashed run's, counted at its worst case.
  // Shared stores can only count reservations older than the longest a request may run.
  await guard.recoverOrphans(stores.shared ? maxRequestMs() : 0);
  const orphanSweep = setInterval(() => {
    guard.recoverOrphans(maxRequestMs()).catch((error) => onError(error, 'orphan recovery'));
  }, 60_000);
  orphanSweep.unref();
  // Counters of windows over for longer than a request may run go, each window's final spend on the ledger first.
  const pruneWindows = () => pruneClosedWindows({
    store: stores.budgets, now: Date.now(), graceMs: maxRequestMs(), timeZone: config.org.timeZone,
    report: async (counters) => {
      await Promise.all(counters.map((counter) => ledger.append(windowClosedEntry(counter, alertScopeFields(counter.scope, (id) => keys.known(id)).department))));
    },
  }).catch((error) => onError(error, 'window pruning'));
  await pruneWindows();
  const windowPrune = setInterval(pruneWindows, 600_000);
  windowPrune.unref();
  const purgeContent = () => {
    for (const department of config.departments.values()) {
      const days = department.retention.days;
      if (department.retention.content === 'none' || days === undefined) continue;
      ledger.purgeContent(new Date(Date.now() - days * 86_400_000), { department: department.name }).catch((error) => onError(error, 'content purge'));
    }
  };
  purgeContent();
  const purgeTimer = setInterval(purgeContent, 3_600_000);
  purgeTimer.unref();
  preloadTokenizers(config);
  // Replicas learn of keys created, edited or revoked elsewhere within a second, reading only the keys that changed.
  const keyRefresh = stores.shared ? setInterval(() => {
    keys.refresh().then((changed) => { if (changed > 0) refreshApiKeyStages(); }).catch((error) => onError(error, 'key refresh'));
  }, 1000) : undefined;
  keyRefresh?.unref();

  // The model registry: seeded from the config's pins, then the versions it serves are its own (promote, rollback).
  // Governance alerts (overdue reviews, suspensions, SLA breaches, model changes, drift, contract warnings) are kept with their delivery.
  const governanceAlerts = new AlertRaiser({ store: stores.governanceAlerts, onError });
  // The mock providers' run-time behaviour lives in the registry store, so every replica serves a switch (routes/mock.ts).
  const mockBehaviours = new MockBehaviours();
  const models = new ModelRegistry({
    store: stores.models, config: () => config, record: (entry) => ledger.append(entry).then(() => undefined), onError, alerts: governanceAlerts,
    onMockSettings: (settings) => mockBehaviours.replace(settings as Map<string, MockBehaviour>),
  });
  // Shadow answers are compared as the drift tools compare them: by the built-in embedding's cosine.
  models.similarity = embeddingSimilarity;
  const recordContractWarnings = async () => {
    for (const warning of models.contractWarnings()) {
      onError(new Error(warning), 'model contract');
      await record({ kind: 'model.contract_warning', warning, config_version: config.version });
    }
    await recordContractAlerts(stores.governanceAlerts, governanceAlerts, models.contractWarnings()).catch((error) => onError(error, 'model contract alert'));
  };
  // Replicas serve a promote or rollback made on another within a second; an embedded store only flushes call counts.
  const modelRefresh = setInterval(() => {
    (stores.shared ? models.refresh().then(() => undefined) : models.flush()).catch((error) => onError(error, 'model registry refresh'));
  }, 1000);
  modelRefresh.unref();
  let providers = createProviders(config.providers.values(), mockBehaviours);

  const telemetry = new TelemetryHolder((reason, count) => metrics.spansDropped(reason, count));
  // Suspensions and resumptions are evidence: awaited, so the refusal or the resume answer follows its entry.
  const sessions = new SessionBreaker({
    state: stores.sessions, suspensions: stores.suspensions, onError, configVersion: () => config.version,
    record: (entry) => ledger.append(entry).then(() => undefined),
  });
  // Alert deliveries a stopped run left pending go on, or are marked failed where they cannot (alert-recovery.ts).
  await recoverInterruptedAlerts({ budgets: notifier, sessions, governance: governanceAlerts, config, shared: stores.shared, now: Date.now() })
    .catch((error) => onError(error, 'interrupted alert deliveries'));
  // Inventory changes, decisions, blueprints and qualifications are evidence: each answer follows its entry.
  const workbench = new SourcingWorkbench({ store: stores.sourcing, record: (entry) => ledger.append(entry).then(() => undefined) });
  const decisionAlerts = new AlertSender({ onError, raiser: governanceAlerts });
  const decisions = new DecisionOversight({
    store: stores.decisions, systems: () => config.systems, configVersion: () => config.version, alerts: decisionAlerts, onError,
    record: (entry) => ledger.append(entry).then(() => undefined),
    alertWebhook: (department) => (config.departments.get(department)?.alerts ?? config.org.alerts)?.webhook,
  });
  const stopOverdueSweep = startOverdueSweep(() => decisions.sweepOverdue(), () => config.systems.values(), onError);
  // Material drift is evidence (a ledger entry) and an alert to the organisation's webhook, when it has one.
  const rollback = rollbackOnMaterialDrift(models, onError);
  const liveDrift = new LiveDrift({
    terms: contractDriftTerms(models),
    ...options.liveDrift, onError, record,
    onMaterialDrift: async (event) => {
      await rollback(event);
      await options.liveDrift?.onMaterialDrift?.(event);
    },
    alert: async (event) => {
      const url = config.org.alerts?.webhook;
      await governanceAlerts.raiseNow(materialDriftAlert(event), url ? { url, body: { event: 'material_drift', ...event } } : undefined);
    },
  });
  const driftSaving = await persistLiveDrift(liveDrift, stores.models, replicaId(environment), onError, options.liveDrift?.clock);
  const apiKeyGuards = (): ApiKeyGuards => {
    const policies: KeyPolicy[] = [];
    let agent = false;
    for (const key of keys.active()) {
      const policy = apiKeyPolicy(key);
      if (policy) policies.push(policy);
      if (key.source === 'api' && key.policy?.agent) agent = true;
    }
    return { policies, agent };
  };
  // Which stages the admin-API keys need; a key created here or on another replica that needs one more rebuilds the list.
  const apiStagesNeeded = (guards: ApiKeyGuards) => [
    guards.policies.some((policy) => policy.routeToMock), guards.policies.some((policy) => policy.limits !== null),
    guards.policies.some((policy) => policy.rateLimit !== null), guards.agent,
  ].join();
  let apiStages = '';
  const stageServices = (built: ResolvedConfig): StageServices => {
    const apiKeys = apiKeyGuards();
    apiStages = apiStagesNeeded(apiKeys);
    return {
      config: built, current: () => gateway.config, guard, rateLimits: stores.rateLimits, maxRequestMs, ledger: options.withoutLedgerStage ? undefined : ledger, sessions, onError,
      telemetry: telemetry.for(built.telemetry), apiKeys, drift: liveDrift,
      models: { registry: models, providers: () => providers, record: (entry) => ledger.append(entry).then(() => undefined), onError },
    };
  };
  const refreshApiKeyStages = () => {
    if (apiStagesNeeded(apiKeyGuards()) !== apiStages) gateway.replace({ stages: buildStages(stageServices(gateway.config)) });
  };
  const gateway: Gateway = new Gateway({
    config, keys, requestLog: stores.requestLog, metrics, providers, stages: buildStages(stageServices(config)),
    versions: registryVersions(models, () => gateway.config),
  });

  const reload = async (by = 'signal'): Promise<Record<string, unknown>> => {
    if (!options.configFile && options.configText === undefined) throw new Error('no config file to reload');
    const next = resolveConfig(load(options).loaded, environment);
    const previous = config;
    await keys.load(next.configKeys, new Date());
    preloadTokenizers(next);
    guard.updateSettings(next.budgetSettings);
    burnRate.configure(configuredBurnRates(next));
    providers = createProviders(next.providers.values(), mockBehaviours);
    gateway.replace({ config: next, providers, stages: buildStages(stageServices(next)) });
    config = next;
    app.config = next;
    await models.seed();
    await recordContractWarnings();
    await record({ kind: 'config.reloaded', by, config_version: next.version, previous_version: previous.version });
    for (const change of budgetChanges(previous, next)) await record({ kind: 'budget.changed', by, config_version: next.version, ...change });
    return { reloaded: true, config_version: next.version.slice(0, 12), models: next.models.size, departments: next.departments.size, warnings: next.warnings };
  };

  const onKeyEvent = async (kind: 'key.created' | 'key.updated' | 'key.revoked', key: KeyRecord, principal: AdminPrincipal, changes?: Record<string, unknown>) => {
    // The key index has read the change already (KeyIndex.create, update and revoke refresh it).
    refreshApiKeyStages();
    const entry = {
      kind, key: key.name, key_id: key.id, models: key.models, budgets: key.budgets,
      ...(key.policy ? { policy: key.policy } : {}), ...(changes ? { changes } : {}), by: principal.name,
    };
    await record({ ...entry, department: key.department });
    // A key moved out of a department: that department's auditors see it leave, in their own entries.
    const moved = (changes?.department as { before?: unknown } | undefined)?.before;
    if (typeof moved === 'string' && moved !== key.department) await record({ ...entry, department: moved });
  };

  // Contract checks, weight artifacts and portability requests: awaited, so each answer follows its ledger entry.
  const contracts = new ContractWorkbench({ store: stores.contractRecords, record: (entry) => ledger.append(entry).then(() => undefined) });

  const server = createServer({
    gateway,
    bodyLimit: config.server.body_limit_bytes,
    limits: inputLimits(config.server),
    logger: options.logger,
    health: () => stores.health(),
    console: new ConsoleSessions({ store: stores.consoleSessions }),
    adminHooks: { onKeyEvent, reload: options.configFile || options.configText !== undefined ? async (principal) => reload(`admin:${principal.name}`) : undefined },
    adminRoutes: [
      (admin) => registerSpendRoutes(admin, gateway, { budgets: stores.budgets, alerts: stores.alerts, ledger, burnRate, sessions, governanceAlerts: stores.governanceAlerts }),
      (admin) => registerAuditRoutes(admin, ledger),
      (admin) => registerProviderRoutes(admin, gateway, ledger),
      (admin) => registerSessionRoutes(admin, sessions),
      (admin) => registerInventoryRoutes(admin, workbench, gateway, options.contractChecks
        ?? (async (system, actor) => (await contracts.listChecks({ system, department: actor.department })).map(checkPayload))),
      (admin) => registerReviewRoutes(admin, decisions),
      (admin) => registerAiSystemRoutes(admin, decisions),
      (admin) => registerModelRoutes(admin, models),
      (admin) => registerMockRoutes(admin, () => gateway.config, { registry: models, behaviours: mockBehaviours }, (entry) => ledger.append(entry)),
      (admin) => registerDriftRoutes(admin, gateway, { ledger, drift: liveDrift }),
      (admin) => registerContractRoutes(admin, contracts),
    ],
  });
  registerDecisionRoutes(server, gateway, decisions);
  // Evidence of which config and store this process started with, before it serves a request.
  await record({ kind: 'gateway.started', config_version: config.version, store: stores.kind });
  // Then the registry, seeded from the config's pins, before the first request.
  await models.load();
  await models.seed();
  await recordContractWarnings();
  const host = options.host ?? config.server.host;
  const port = options.port ?? config.server.port;
  await server.listen({ host, port });
  const address = server.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  // CLI commands (spend, …) find a gateway on an embedded store by this record beside its database.
  let forgetAddress = () => {};
  if (config.store.kind === 'sqlite' && config.store.path !== ':memory:') {
    try {
      forgetAddress = recordAddress(config.store.path, url);
    } catch (error) {
      onError(error, 'gateway address file');
    }
  }

  let closed = false;
  const app: App = {
    config,
    gateway,
    server,
    stores,
    decisions,
    models,
    url,
    reload,
    async close() {
      if (closed) return;
      closed = true;
      const grace = setTimeout(() => gateway.abortStreams(), config.server.shutdown_grace_ms);
      grace.unref();
      // Keep-alive connections become idle as their last response ends: close them then, not at the keep-alive timeout.
      const sweep = setInterval(() => server.server.closeIdleConnections(), 50);
      forgetAddress();
      await server.close();
      clearInterval(sweep);
      clearTimeout(grace);
      clearInterval(orphanSweep);
      guard.stop();
      clearInterval(windowPrune);
      clearInterval(purgeTimer);
      if (keyRefresh) clearInterval(keyRefresh);
      clearInterval(modelRefresh);
      await models.idle();
      await models.flush().catch((error) => onError(error, 'model registry flush'));
      await notifier.idle();
      await telemetry.close();
      await sessions.idle();
      stopOverdueSweep();
      await decisionAlerts.idle();
      await liveDrift.idle();
      driftSaving.stop();
      await driftSaving.save();
      await governanceAlerts.idle();
      await stores.close();
    },
  };
  return app;
}
