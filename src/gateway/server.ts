// The HTTP server (fastify): body parsing with limits, one error handler in OpenAI's shape, the routes and the admin plugin.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { CovenantError } from '../core/errors.js';
import { adminPlugin, type AdminRoute } from './admin-auth.js';
import { toCovenantError } from './error-response.js';
import { clientErrorHandler, jsonDepthOverflow, limitConnectionsPerClient, tooDeep, type InputLimits } from './input-limits.js';
import type { Gateway } from './gateway.js';
import { registerAdminRoutes, type AdminHooks } from './routes/admin.js';
import { registerConsoleRoutes, sessionPrincipal } from './console/routes.js';
import type { ConsoleSessions } from '../console/sessions.js';
import { registerMessagesRoutes } from './routes/messages.js';
import { registerOpenAIRoutes } from './routes/openai.js';
import { registerResponsesRoutes } from './routes/responses.js';
import { anthropicErrorType } from './messages/index.js';
import { registerSystemRoutes, type HealthProbe } from './routes/system.js';

export interface ServerOptions {
  gateway: Gateway;
  bodyLimit: number;
  adminHooks?: AdminHooks;
  /** Extra admin route groups (spend, audit) registered by the app under /admin, each route declaring its access. */
  adminRoutes?: ((admin: FastifyInstance) => void)[];
  logger?: boolean;
  /** What /healthz probes (the stores' reachability). */
  health?: HealthProbe;
  /** Header size, JSON depth, connections per client and timeouts (config `server:`); Node's defaults when absent. */
  limits?: InputLimits;
  /** The console's sign-in sessions: its pages under /ui, and its cookie as a way into /admin. */
  console?: ConsoleSessions;
}

export function createServer(options: ServerOptions): FastifyInstance {
  const limits = options.limits;
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    ...(limits === undefined ? {} : {
      http: {
        maxHeaderSize: limits.headerLimitBytes,
        // Node checks headers and request timeouts on this interval; its default (30 s) would let a slow client stay longer.
        connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
      },
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionTimeout: limits.idleTimeoutMs,
      clientErrorHandler,
    }),
    logger: options.logger ? { level: 'warn', redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'] } : false,
    forceCloseConnections: 'idle',
    // Requests that arrive while closing are refused by the hook below, in Covenant's error shape.
    return503OnClosing: false,
    genReqId: () => '',
  });

  // Parse every body as JSON whatever its content type (curl -d sends form encoding), keeping the raw text for hashing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    (request as unknown as { rawBody: string }).rawBody = text;
    // An empty body (DELETE with a content type) is no body; routes that need one say so.
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    const overflow = limits === undefined ? -1 : jsonDepthOverflow(text, limits.maxJsonDepth);
    if (overflow >= 0) {
      done(tooDeep(overflow, limits!.maxJsonDepth), undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new CovenantError('invalid_json', (error as Error).message), undefined);
    }
  });

  // Set when close() begins: requests still arriving on open connections get 503 shutting_down.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    reply.header('connection', 'close');
    done(new CovenantError('shutting_down'));
  });

  app.setErrorHandler((error, request, reply) => {
    const covenantError = toCovenantError(error, options.bodyLimit);
    if (covenantError.code === 'internal_error') request.log.error({ err: error }, 'internal error');
    const body = covenantError.toBody();
    // Anthropic's SDK reads {type: 'error', error: {type, message}}; `code` keeps Covenant's contract code there too.
    const shaped = request.url.startsWith('/v1/messages')
      ? { type: 'error', error: { ...body.error, type: anthropicErrorType(covenantError.status) } }
      : body;
    reply.code(covenantError.status).headers(covenantError.headers).send(shaped);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new CovenantError('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`).toBody());
  });

  if (limits !== undefined) {
    // Node's own option; Fastify does not pass it through. Never above the whole request's timeout.
    app.server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
    limitConnectionsPerClient(app.server, limits.maxConnectionsPerClient);
  }

  const consoleOptions = options.console && { sessions: options.console, adminKeys: () => options.gateway.config.adminKeys };
  registerSystemRoutes(app, options.gateway, options.health);
  registerOpenAIRoutes(app, options.gateway);
  registerMessagesRoutes(app, options.gateway);
  registerResponsesRoutes(app, options.gateway);
  // Every admin route with its declared access, for the roles table (README) and its test.
  const adminRoutes: AdminRoute[] = [];
  app.decorate('adminRoutes', adminRoutes);
  app.register(adminPlugin, {
    prefix: '/admin',
    registered: adminRoutes,
    adminKeys: () => options.gateway.config.adminKeys,
    routes: [(admin) => registerAdminRoutes(admin, options.gateway, options.adminHooks), ...(options.adminRoutes ?? [])],
    ...(consoleOptions ? { sessionPrincipal: (request: FastifyRequest) => sessionPrincipal(consoleOptions, request) } : {}),
  });
  if (consoleOptions) registerConsoleRoutes(app, consoleOptions);
  return app;
}
