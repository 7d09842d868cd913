// The VersionResolver over the model registry: an alias is served by the registry's active version, read from memory.
import type { ResolvedConfig } from '../config/resolve.js';
import type { ModelRegistry } from '../models/registry.js';
import type { VersionResolver } from './versions.js';

/** The config says which aliases exist (and who may use them); the registry says which version each serves now. */
export function registryVersions(registry: ModelRegistry, config: () => ResolvedConfig): VersionResolver {
  return {
    resolve(alias) {
      const base = config().models.get(alias);
      return base === undefined ? undefined : registry.resolve(base);
    },
  };
}
