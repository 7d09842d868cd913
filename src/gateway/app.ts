// Assembles a running Covenant from a resolved config: stores, providers, pipeline stages, HTTP server; start, reload, stop.
import type { FastifyInstance } from 'fastify';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import { loadConfigFile, parseConfigText, type LoadedConfig } from '../config/load.js';
import { demoConfigText, demoEnvironment } from '../config/demo.js';
import { createProviders } from '../providers/registry.js';
import { openDatabase, type SqliteDatabase } from '../stores/sqlite/database.js';
import { SqliteKeyStore, SqliteRequestLog } from '../stores/sqlite/records.js';
import { AlertNotifier } from '../budgets/alerts.js';
import { BudgetGuard } from '../budgets/guard.js';
import { createSqliteAlertStore } from '../budgets/sqlite-alert-store.js';
import { createSqliteBudgetStore } from '../budgets/sqlite-store.js';
import { encodingForModel, preloadEncoding } from '../core/tokens.js';
import type { Stage } from './context.js';
import { createBudgetStage } from './stages/budget-stage.js';
import { registerSpendRoutes } from './routes/spend.js';
import { Gateway } from './gateway.js';
import { KeyIndex } from './keys.js';
import { Metrics } from './metrics.js';
import { createServer } from './server.js';

export interface AppOptions {
  /** Config file path; undefined for the built-in demo. */
  configFile?: string;
  /** Config text instead of a file (tests). */
  configText?: string;
  environment?: Record<string, string | undefined>;
  host?: string;
  port?: number;
  logger?: boolean;
}

export interface App {
  config: ResolvedConfig;
  gateway: Gateway;
  server: FastifyInstance;
  database: SqliteDatabase;
  /** The base URL once listening, e.g. http://127.0.0.1:4141 */
  url: string;
  reload(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

function load(options: AppOptions): { loaded: LoadedConfig; environment: Record<string, string | undefined> } {
  const environment = { ...(options.environment ?? process.env) };
  if (options.configText !== undefined) return { loaded: parseConfigText(options.configText, '<config>'), environment };
  if (options.configFile) return { loaded: loadConfigFile(options.configFile), environment };
  return { loaded: parseConfigText(demoConfigText, '<demo>'), environment: { ...demoEnvironment, ...environment } };
}

/** Load the tokenizer tables the configured OpenAI models need now, not on the first request near a limit. */
function preloadTokenizers(config: ResolvedConfig): void {
  const hasBudgets = config.org.budgets.length > 0 || [...config.departments.values()].some((department) => department.budgets.length > 0 || department.userBudgets.length > 0)
    || config.raw.org.departments.some((department) => department.keys.some((key) => (key.budgets ?? []).length > 0));
  if (!hasBudgets) return;
  const encodings = new Set<string>();
  for (const model of config.models.values()) {
    if (model.providerType !== 'openai' || model.type !== 'chat') continue;
    const encoding = encodingForModel(model.version);
    if (encoding) encodings.add(encoding);
  }
  for (const encoding of encodings) preloadEncoding(encoding as Parameters<typeof preloadEncoding>[0]);
}

export async function startApp(options: AppOptions = {}): Promise<App> {
  const { loaded, environment } = load(options);
  let config = resolveConfig(loaded, environment);
  if (config.store.kind !== 'sqlite') throw new Error('PostgreSQL stores are not available in this build yet');
  const database = openDatabase(config.store.path);
  const keys = new KeyIndex(new SqliteKeyStore(database));
  await keys.load(config.configKeys, new Date());
  const requestLog = new SqliteRequestLog(database);
  const metrics = new Metrics();
  const onError = (error: unknown, where: string) => process.emitWarning(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  const budgetStore = createSqliteBudgetStore(database);
  const alertStore = createSqliteAlertStore(database);
  const notifier = new AlertNotifier({ store: alertStore, onError });
  const guard = new BudgetGuard({ store: budgetStore, settings: config.budgetSettings, alerts: notifier, onError });
  // One process owns an embedded database: every reservation left in it is a crashed run's, counted at its worst case.
  await guard.recoverOrphans();
  const orphanSweep = setInterval(() => {
    guard.recoverOrphans(config.server.upstream_timeout_ms + config.server.shutdown_grace_ms + 60_000).catch((error) => onError(error, 'orphan recovery'));
  }, 60_000);
  orphanSweep.unref();
  preloadTokenizers(config);
  const buildStages = (): Stage[] => [createBudgetStage(guard, () => gateway.config)];
  const gateway: Gateway = new Gateway({
    config, keys, requestLog, metrics, providers: createProviders(config.providers.values()), stages: [],
  });
  gateway.replace({ stages: buildStages() });

  const reload = async (): Promise<Record<string, unknown>> => {
    if (!options.configFile && options.configText === undefined) throw new Error('no config file to reload');
    const next = resolveConfig(load(options).loaded, environment);
    await keys.load(next.configKeys, new Date());
    preloadTokenizers(next);
    guard.updateSettings(next.budgetSettings);
    gateway.replace({ config: next, providers: createProviders(next.providers.values()) });
    config = next;
    app.config = next;
    return { reloaded: true, config_version: next.version.slice(0, 12), models: next.models.size, departments: next.departments.size, warnings: next.warnings };
  };

  const server = createServer({
    gateway,
    bodyLimit: config.server.body_limit_bytes,
    logger: options.logger,
    adminHooks: { reload: options.configFile || options.configText !== undefined ? async () => reload() : undefined },
    routes: [(instance) => registerSpendRoutes(instance, gateway, { budgets: budgetStore, alerts: alertStore })],
  });
  const host = options.host ?? config.server.host;
  const port = options.port ?? config.server.port;
  await server.listen({ host, port });
  const address = server.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;

  let closed = false;
  const app: App = {
    config,
    gateway,
    server,
    database,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
    reload,
    async close() {
      if (closed) return;
      closed = true;
      const grace = setTimeout(() => gateway.abortStreams(), config.server.shutdown_grace_ms);
      grace.unref();
      // Keep-alive connections become idle as their last response ends: close them then, not at the keep-alive timeout.
      const sweep = setInterval(() => server.server.closeIdleConnections(), 50);
      await server.close();
      clearInterval(sweep);
      clearTimeout(grace);
      clearInterval(orphanSweep);
      await notifier.idle();
      await budgetStore.close();
      await requestLog.flush();
      database.close();
    },
  };
  return app;
}
