// GET /healthz (liveness and store reachability) and GET /metrics (Prometheus text format).
import type { FastifyInstance } from 'fastify';
import type { HealthCheck } from '../../stores/types.js';
import type { Gateway } from '../gateway.js';

/** Probes every backend the gateway depends on (the stores' `health`). */
export type HealthProbe = () => Promise<HealthCheck[]>;

export function registerSystemRoutes(app: FastifyInstance, gateway: Gateway, health?: HealthProbe): void {
  // Unauthenticated: it names each backend and whether it answered (or answers but cannot write: `disk_full`), never
  // a driver's message (addresses stay private).
  app.get('/healthz', async (_request, reply) => {
    const checks = health === undefined ? [] : await health();
    const reachable = checks.every((check) => check.ok);
    reply.code(reachable ? 200 : 503);
    return {
      status: reachable ? 'ok' : 'unavailable',
      config_version: gateway.config.version.slice(0, 12),
      stores: Object.fromEntries(checks.map((check) => [check.name, check.ok ? 'reachable' : check.problem ?? 'unreachable'])),
    };
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(gateway.metrics.registry.contentType);
    return gateway.metrics.registry.metrics();
  });
}
