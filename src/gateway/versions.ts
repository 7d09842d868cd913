// The pipeline's step from a model alias to the upstream version it calls: replaceable, the config's pinning by default.
import type { ResolvedConfig, ResolvedModel } from '../config/resolve.js';
import { CovenantError } from '../core/errors.js';
import type { KeyRecord } from '../stores/records.js';
import type { Route } from './context.js';

/**
 * Resolves the alias a request names to the model to call (its pinned upstream `version`, provider and prices).
 * Synchronous on purpose: it runs on every request, and whoever owns versions keeps what it needs in memory.
 */
export interface VersionResolver {
  /**
   * undefined when the alias is unknown (the request is refused with model_not_found). `requested`: the version the
   * caller asked for (the x-covenant-model-version header); an unknown one throws model_version_not_found.
   */
  resolve(alias: string, key: KeyRecord, route: Route, requested?: string): ResolvedModel | undefined;
}

/** The request header asking for a specific registry version of the alias (`covenant drift … --version V` sends it). */
export const modelVersionHeader = 'x-covenant-model-version';

/** The refusal of a requested version the alias does not have. */
export function unknownVersion(alias: string, version: string): CovenantError {
  return new CovenantError('model_version_not_found',
    `The model "${alias}" has no version "${version}" (${modelVersionHeader}); covenant models show ${alias} lists its versions.`, { param: modelVersionHeader });
}

/** The default: the version the config pins each alias to, read from the config in force at each request. */
export function configVersions(config: () => ResolvedConfig): VersionResolver {
  return {
    resolve(alias, _key, _route, requested) {
      const model = config().models.get(alias);
      if (model && requested !== undefined && requested !== model.version) throw unknownVersion(alias, requested);
      return model;
    },
  };
}
