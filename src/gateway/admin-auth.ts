// The one admin surface: a plugin under /admin that authenticates the admin key and applies role and department scope.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { CovenantError } from '../core/errors.js';
import { hashSecret, type AdminKey } from '../config/resolve.js';

export type AdminRole = AdminKey['role'];

export interface AdminPrincipal {
  name: string;
  role: AdminRole;
  /** When set, the principal sees only this department's records. */
  department: string | null;
}

/**
 * What an admin route needs, declared as `config: { access }` when it registers.
 * `read` and `write` let a department-scoped key in (the handler narrows to its department);
 * `organisation-read` and `organisation-write` act on the whole organisation, so they need an unscoped key.
 * `review-read` and `review-write` reach the decision review queue only (a department-scoped key: its department's).
 */
export const adminAccesses = ['read', 'write', 'organisation-read', 'organisation-write', 'review-read', 'review-write'] as const;
export type AdminAccess = (typeof adminAccesses)[number];

/** Which role may do what: the one table. A new role (finops, reviewer) is a new row here and in the config schema. */
export const roleAccess: Record<AdminRole, readonly AdminAccess[]> = {
  admin: ['read', 'write', 'organisation-read', 'organisation-write', 'review-read', 'review-write'],
  auditor: ['read', 'organisation-read', 'review-read'],
  reviewer: ['review-read', 'review-write'],
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route under /admin: the admin plugin refuses to start without it. */
    access?: AdminAccess;
  }
  interface FastifyRequest {
    /** The authenticated admin key; set by the admin plugin on every /admin route before its handler runs. */
    adminPrincipal: AdminPrincipal;
  }
}

export function authenticateAdmin(adminKeys: AdminKey[], authorization: string | undefined): AdminPrincipal {
  const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
  const secret = match?.[1]?.trim();
  if (!secret) throw new CovenantError('missing_api_key');
  const hash = hashSecret(secret);
  const key = adminKeys.find((candidate) => candidate.secretHash === hash);
  if (!key) throw new CovenantError('invalid_api_key');
  return { name: key.name, role: key.role, department: key.department };
}

/** Refuse a principal whose role or department scope does not allow what the route declared. */
export function authorizeAdmin(principal: AdminPrincipal, access: AdminAccess): void {
  const granted = roleAccess[principal.role];
  if (!granted.includes(access)) {
    const readOnly = !granted.some((entry) => entry.endsWith('write'));
    throw new CovenantError('forbidden', readOnly
      ? `This admin key is read-only (role ${principal.role}).`
      : `This admin key (role ${principal.role}) may not do this (${access}).`);
  }
  if (access.startsWith('organisation-') && principal.department !== null) {
    throw new CovenantError('forbidden', `This acts on the whole organisation; this admin key is scoped to department "${principal.department}".`);
  }
}

export function requireDepartmentAccess(principal: AdminPrincipal, department: string): void {
  if (principal.department !== null && principal.department !== department) {
    throw new CovenantError('forbidden', `This admin key is scoped to department "${principal.department}".`);
  }
}

export interface AdminPluginOptions {
  /** The admin keys in force now (they change on reload). */
  adminKeys: () => AdminKey[];
  /** Route groups to register under /admin; each route declares `config: { access }`. */
  routes: ((admin: FastifyInstance) => void)[];
  /** The console's session cookie: its principal, or undefined when the request has none (then the Bearer key is asked for). */
  sessionPrincipal?: (request: FastifyRequest) => AdminPrincipal | undefined;
}

function authorizationHeader(request: FastifyRequest): string | undefined {
  const value = request.headers.authorization;
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Register with `app.register(adminPlugin, { prefix: '/admin', ... })`. Encapsulated: its hooks apply to its routes only.
 * @example admin.get('/spend', { config: { access: 'read' } }, async (request) => report(request.adminPrincipal))
 */
export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (admin, options) => {
  admin.decorateRequest('adminPrincipal', null as unknown as AdminPrincipal);
  // A route that forgot to declare its access fails the start, rather than being open to every admin key.
  admin.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined || !adminAccesses.includes(access)) {
      throw new Error(`admin route ${String(route.method)} ${route.url} must declare config.access (one of ${adminAccesses.join(', ')})`);
    }
  });
  admin.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access as AdminAccess;
    const authorization = authorizationHeader(request);
    const principal = (authorization === undefined ? options.sessionPrincipal?.(request) : undefined) ?? authenticateAdmin(options.adminKeys(), authorization);
    authorizeAdmin(principal, access);
    request.adminPrincipal = principal;
  });
  for (const register of options.routes) register(admin);
};
