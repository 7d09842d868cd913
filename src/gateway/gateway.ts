// The gateway: authenticates a request's key and runs it through the pipeline; holds what a reload swaps.
import { CovenantError } from '../core/errors.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { KeyRecord, RequestLog } from '../stores/records.js';
import type { KeyIndex } from './keys.js';
import type { Metrics } from './metrics.js';
import { Pipeline, type PipelineServices } from './pipeline.js';

export interface GatewayServices extends PipelineServices {
  keys: KeyIndex;
  requestLog: RequestLog;
  metrics: Metrics;
}

export class Gateway extends Pipeline<GatewayServices> {
  get config(): ResolvedConfig {
    return this.services.config;
  }

  get keys(): KeyIndex {
    return this.services.keys;
  }

  get requestLog(): RequestLog {
    return this.services.requestLog;
  }

  get metrics(): Metrics {
    return this.services.metrics;
  }

  /** Find the virtual key of a request; 401 when it is missing, unknown or revoked. */
  authenticate(authorization: string | undefined, apiKeyHeader?: string | undefined): KeyRecord {
    let secret: string | undefined;
    if (authorization) {
      const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
      secret = match?.[1]?.trim();
    }
    secret ??= apiKeyHeader?.trim();
    if (!secret) throw new CovenantError('missing_api_key');
    const key = this.services.keys.find(secret);
    if (!key) throw new CovenantError('invalid_api_key');
    return key;
  }

  /** The key of a request if it has a valid one, else undefined (for recording refusals, never for admitting). */
  keyOf(authorization: string | undefined, apiKeyHeader?: string | undefined): KeyRecord | undefined {
    try {
      return this.authenticate(authorization, apiKeyHeader);
    } catch {
      return undefined;
    }
  }
}
