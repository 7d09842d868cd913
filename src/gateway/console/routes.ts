// The console's own routes: GET / → /ui/, the built page and its assets under /ui, and sign-in sessions at /ui/api/session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AdminKey } from '../../config/resolve.js';
import { CovenantError } from '../../core/errors.js';
import { authenticateAdmin, roleAccess, type AdminAccess, type AdminPrincipal } from '../admin-auth.js';
import { parseBody } from '../validate.js';
import type { ConsoleSessions, SessionView } from '../../console/sessions.js';
import { cookieValue, csrfHeaderName, sessionCookieName } from './cookie.js';
import { defaultConsoleRoot, sendConsoleFile } from './static-files.js';

const signInSchema = z.strictObject({ key: z.string().trim().min(1).max(500) });

export interface ConsoleOptions {
  sessions: ConsoleSessions;
  adminKeys: () => AdminKey[];
  /** The built console; dist-ui/ by default. */
  root?: string;
}

/** What the principal may do, as the admin API would decide it (organisation-wide access needs an unscoped key). */
export function allowedAccesses(principal: AdminPrincipal): AdminAccess[] {
  return roleAccess[principal.role].filter((access) => principal.department === null || !access.startsWith('organisation-'));
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A request from another site names its own origin; one from this page names ours (browsers send Origin on every POST). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = firstHeader(request.headers.origin);
  if (origin === undefined) return true;
  return origin === `${request.protocol}://${request.host}`;
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The admin plugin's second way in: a console session cookie. Undefined when there is none (or it expired), so the
 * plugin then asks for the Bearer key. A write must come from this origin and carry the session's CSRF token.
 */
export async function sessionPrincipal(options: ConsoleOptions, request: FastifyRequest): Promise<AdminPrincipal | undefined> {
  const view = await options.sessions.find(cookieValue(request.headers.cookie, sessionCookieName), options.adminKeys());
  if (!view) return undefined;
  if (!safeMethods.has(request.method)) {
    if (!sameOrigin(request)) throw new CovenantError('forbidden', 'A console write must come from the console\'s own origin.');
    if (!options.sessions.csrfMatches(view, firstHeader(request.headers[csrfHeaderName]))) {
      throw new CovenantError('forbidden', `A console write must carry the session's ${csrfHeaderName} header.`);
    }
  }
  return view.principal;
}

function cookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${sessionCookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

function sessionBody(view: SessionView) {
  const { principal } = view;
  return {
    name: principal.name, role: principal.role, department: principal.department,
    allowed: allowedAccesses(principal), csrf_token: view.csrf, expires_at: new Date(view.expiresAt).toISOString(),
  };
}

export function registerConsoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const root = options.root ?? defaultConsoleRoot;
  const current = (request: FastifyRequest) => options.sessions.find(cookieValue(request.headers.cookie, sessionCookieName), options.adminKeys());

  app.get('/', async (_request, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', async (_request, reply) => reply.redirect('/ui/', 301));
  app.get('/ui/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    if (path.startsWith('api/')) throw new CovenantError('not_found', `No route GET ${request.url.split('?')[0]}.`);
    return sendConsoleFile(reply, root, path);
  });

  // Sign in: the admin key is checked exactly as the admin API checks it, then only the cookie's random id travels.
  app.post('/ui/api/session', async (request, reply: FastifyReply) => {
    if (!sameOrigin(request)) throw new CovenantError('forbidden', 'Sign in from the console\'s own origin.');
    if (options.sessions.throttled(request.ip)) throw new CovenantError('rate_limit_exceeded', 'Too many failed sign-ins from this address: wait a minute.');
    const { key } = parseBody(signInSchema, request.body ?? {});
    const keys = options.adminKeys();
    let principal: AdminPrincipal;
    try {
      principal = authenticateAdmin(keys, `Bearer ${key}`);
    } catch (error) {
      options.sessions.failed(request.ip);
      throw error;
    }
    const adminKey = keys.find((candidate) => candidate.name === principal.name);
    if (!adminKey) throw new CovenantError('invalid_api_key');
    const view = await options.sessions.open(adminKey);
    reply.header('set-cookie', cookie(request, view.id, Math.floor((view.expiresAt - Date.now()) / 1000)));
    reply.header('cache-control', 'no-store');
    reply.code(201);
    return sessionBody(view);
  });

  app.get('/ui/api/session', async (request, reply) => {
    const view = await current(request);
    reply.header('cache-control', 'no-store');
    if (!view) throw new CovenantError('missing_api_key', 'Not signed in: sign in with an admin key.');
    return sessionBody(view);
  });

  // Sign out: forget the session here and tell the browser to drop the cookie.
  app.delete('/ui/api/session', async (request, reply) => {
    const view = await current(request);
    if (view && (!sameOrigin(request) || !options.sessions.csrfMatches(view, firstHeader(request.headers[csrfHeaderName])))) {
      throw new CovenantError('forbidden', `Sign out must come from the console with its ${csrfHeaderName} header.`);
    }
    await options.sessions.close(view?.id);
    reply.header('set-cookie', cookie(request, '', 0));
    reply.header('cache-control', 'no-store');
    return { signed_out: true };
  });
}
