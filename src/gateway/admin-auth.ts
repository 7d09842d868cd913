// The one admin surface: a plugin under /admin that authenticates the admin key and applies role and department scope.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { CovenantError } from '../core/errors.js';
import { timingSafeEqual } from 'node:crypto';
import type { AdminKey } from '../config/resolve.js';
import { SecretIndex } from './secret-index.js';

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

/** Which role may do what: the one table. A new role is a new row here and in the config schema. */
export const roleAccess: Record<AdminRole, readonly AdminAccess[]> = {
  admin: ['read', 'write', 'organisation-read', 'organisation-write', 'review-read', 'review-write'],
  auditor: ['read', 'organisation-read', 'review-read'],
  finops: ['read', 'write', 'organisation-read'],
  reviewer: ['review-read', 'review-write'],
};

/**
 * Parts of the admin surface a route may name with `config: { access, area }`. A role listed in `roleAreas` calls only
 * routes of its areas (its access kinds still apply); every other role ignores areas, so a route without one is
 * unchanged for them.
 */
export const adminAreas = ['finops'] as const;
export type AdminArea = (typeof adminAreas)[number];

/** Roles confined to some areas: finops manages keys, budgets, spend and alerts, and nothing else. */
export const roleAreas: Partial<Record<AdminRole, readonly AdminArea[]>> = {
  finops: ['finops'],
};

/** Whether a role may call a route that declared this access and area (department scope aside). */
export function roleMayCall(role: AdminRole, access: AdminAccess, area?: AdminArea): boolean {
  if (!roleAccess[role].includes(access)) return false;
  const areas = roleAreas[role];
  return areas === undefined || (area !== undefined && areas.includes(area));
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route under /admin: the admin plugin refuses to start without it. */
    access?: AdminAccess;
    /** The part of the admin surface the route belongs to, for roles confined to some (`roleAreas`). */
    area?: AdminArea;
  }
  interface FastifyInstance {
    /** Every admin route with its declared access and area, in registration order (set by the server). */
    adminRoutes?: AdminRoute[];
  }
  interface FastifyRequest {
    /** The authenticated admin key; set by the admin plugin on every /admin route before its handler runs. */
    adminPrincipal: AdminPrincipal;
  }
}

/** The index of each admin-key list in force (a reload makes a new list; the old one's index goes with it). */
const adminIndexes = new WeakMap<AdminKey[], SecretIndex<AdminKey>>();

function adminIndex(adminKeys: AdminKey[]): SecretIndex<AdminKey> {
  let index = adminIndexes.get(adminKeys);
  if (!index) {
    index = new SecretIndex(adminKeys.map((key) => [key.secret.reveal(), key] as [string, AdminKey]));
    adminIndexes.set(adminKeys, index);
  }
  return index;
}

function timingSafeEqualText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The admin key a bearer secret belongs to: found by its keyed hash in this process, confirmed in constant time. */
export function authenticateAdmin(adminKeys: AdminKey[], authorization: string | undefined): AdminPrincipal {
  const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
  const secret = match?.[1]?.trim();
  if (!secret) throw new CovenantError('missing_api_key');
  const key = adminIndex(adminKeys).find(secret);
  if (!key || !timingSafeEqualText(key.secret.reveal(), secret)) throw new CovenantError('invalid_api_key');
  return { name: key.name, role: key.role, department: key.department };
}

/** Refuse a principal whose role or department scope does not allow what the route declared. */
export function authorizeAdmin(principal: AdminPrincipal, access: AdminAccess, area?: AdminArea): void {
  const granted = roleAccess[principal.role];
  const areas = roleAreas[principal.role];
  if (areas !== undefined && (area === undefined || !areas.includes(area))) {
    throw new CovenantError('forbidden', `This admin key (role ${principal.role}) may call only ${areas.join(', ')} routes (keys, budgets, spend, alerts).`);
  }
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
  /** Filled with every admin route as it registers (the roles table is checked against it). */
  registered?: AdminRoute[];
  /** The console's session cookie: its principal, or undefined when the request has none (then the Bearer key is asked for). */
  sessionPrincipal?: (request: FastifyRequest) => Promise<AdminPrincipal | undefined>;
}

/** One registered admin route and what it declared. */
export interface AdminRoute {
  method: string;
  url: string;
  access: AdminAccess;
  area?: AdminArea;
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
    const area = route.config?.area;
    if (area !== undefined && !adminAreas.includes(area)) throw new Error(`admin route ${String(route.method)} ${route.url} declares an unknown area "${String(area)}"`);
    for (const method of [route.method].flat()) if (method !== 'HEAD') options.registered?.push({ method, url: route.url, access, ...(area === undefined ? {} : { area }) });
  });
  admin.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access as AdminAccess;
    const authorization = authorizationHeader(request);
    const principal = (authorization === undefined ? await options.sessionPrincipal?.(request) : undefined) ?? authenticateAdmin(options.adminKeys(), authorization);
    authorizeAdmin(principal, access, request.routeOptions.config.area);
    request.adminPrincipal = principal;
  });
  for (const register of options.routes) register(admin);
};
