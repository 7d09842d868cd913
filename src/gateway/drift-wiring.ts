// Live drift wired to the model registry: each alias's terms from its contract, and a rollback on material drift.
import { durationMs } from '../config/resolve.js';
import type { LiveDriftTerms, MaterialDriftEvent } from '../drift/live.js';
import type { ModelRegistry } from '../models/registry.js';

/** The alias's `contract.drift` (max_variance as a fraction, window as a duration); undefined for an alias the registry lacks. */
export function contractDriftTerms(models: ModelRegistry): (alias: string) => LiveDriftTerms | undefined {
  return (alias) => {
    const drift = models.policy(alias)?.contract.drift;
    return drift ? { maxVariance: drift.max_variance, windowMs: durationMs(drift.window) } : undefined;
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
