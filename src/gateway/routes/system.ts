// GET /healthz (liveness and store reachability) and GET /metrics (Prometheus text format).
import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../gateway.js';

export function registerSystemRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.get('/healthz', async () => ({ status: 'ok', config_version: gateway.config.version.slice(0, 12) }));
  app.get('/metrics', async (_request, reply) => {
    reply.type(gateway.metrics.registry.contentType);
    return gateway.metrics.registry.metrics();
  });
}
