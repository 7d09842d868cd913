// Live drift wired to the model registry: each alias's terms from its contract, and a rollback on material drift.
import { durationMs } from '../config/resolve.js';
import { hostname } from 'node:os';
import type { LiveDrift, LiveDriftTerms, MaterialDriftEvent, SavedDriftWindow } from '../drift/live.js';
import type { ModelRegistryStore } from '../models/types.js';
import type { ModelRegistry } from '../models/registry.js';

/** The alias's `contract.drift` (max_variance as a fraction, window as a duration); undefined for an alias the registry lacks. */
export function contractDriftTerms(models: ModelRegistry): (alias: string) => LiveDriftTerms | undefined {
  // The monitor asks on every compared call: each contract's terms are read once (a reload brings new contract objects).
  const terms = new WeakMap<object, LiveDriftTerms>();
  return (alias) => {
    const drift = models.policy(alias)?.contract.drift;
    if (!drift) return undefined;
    let found = terms.get(drift);
    if (!found) {
      found = { maxVariance: drift.max_variance, windowMs: durationMs(drift.window) };
      terms.set(drift, found);
    }
    return found;
  };
}

/**
 * On material drift of the version an alias serves now, the registry rolls it back (only where the alias says
 * `on_drift: rollback`). Drift of a version the alias no longer serves changes nothing.
 */
export function rollbackOnMaterialDrift(models: ModelRegistry, onError: (error: unknown, where: string) => void): (event: MaterialDriftEvent) => Promise<void> {
  return async (event) => {
    if (models.activeVersion(event.alias) !== event.version) return;
    const { rolledBack, reason } = await models.rollbackOnDrift(event.alias, { ...event });
    if (!rolledBack && reason !== 'on_drift is not rollback') onError(new Error(`"${event.alias}" not rolled back: ${reason}`), 'material drift rollback');
  };
}

/** This replica's name for its saved drift windows: COVENANT_REPLICA_ID, else the host name (stable across restarts). */
export function replicaId(environment: Record<string, string | undefined>): string {
  return environment.COVENANT_REPLICA_ID ?? hostname();
}

/**
 * Live drift windows survive a restart: this replica's saved windows are added back at start, and its windows are
 * saved every `everyMs` (default a minute) and at close, so a breach still counts from its start.
 */
export async function persistLiveDrift(drift: LiveDrift, store: ModelRegistryStore, replica: string, onError: (error: unknown, where: string) => void,
  clock: () => number = Date.now, everyMs = 60_000): Promise<{ save(): Promise<void>; stop(): void }> {
  drift.restore((await store.driftWindows(replica)) as SavedDriftWindow[]);
  const save = () => store.saveDriftWindows(replica, drift.saved(), clock()).catch((error) => onError(error, 'live drift save'));
  const timer = setInterval(() => { void save(); }, everyMs);
  timer.unref();
  return { save, stop: () => clearInterval(timer) };
}
