// The VersionResolver over the model registry: an alias is served by the registry's active version (or the one the caller asks for), read from memory.
import type { ResolvedConfig } from '../config/resolve.js';
import type { ModelRegistry } from '../models/registry.js';
import { unknownVersion, type VersionResolver } from './versions.js';

/** The config says which aliases exist (and who may use them); the registry says which version each serves now. */
export function registryVersions(registry: ModelRegistry, config: () => ResolvedConfig): VersionResolver {
  return {
    resolve(alias, _key, _route, requested) {
      const base = config().models.get(alias);
      if (base === undefined) return undefined;
      if (requested === undefined) return registry.resolve(base);
      const model = registry.resolveVersion(base, requested);
      if (!model) throw unknownVersion(alias, requested);
      return model;
    },
  };
}
