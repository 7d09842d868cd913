// The pipeline's step from a model alias to the upstream version it calls: replaceable, the config's pinning by default.
import type { ResolvedConfig, ResolvedModel } from '../config/resolve.js';
import type { KeyRecord } from '../stores/records.js';
import type { Route } from './context.js';

/**
 * Resolves the alias a request names to the model to call (its pinned upstream `version`, provider and prices).
 * Synchronous on purpose: it runs on every request, and whoever owns versions keeps what it needs in memory.
 */
export interface VersionResolver {
  /** undefined when the alias is unknown (the request is refused with model_not_found). */
  resolve(alias: string, key: KeyRecord, route: Route): ResolvedModel | undefined;
}

/** The default: the version the config pins each alias to, read from the config in force at each request. */
export function configVersions(config: () => ResolvedConfig): VersionResolver {
  return { resolve: (alias) => config().models.get(alias) };
}
