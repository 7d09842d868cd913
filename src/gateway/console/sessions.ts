// Console sign-in sessions: a random id per signed-in browser, kept in this process's memory with an expiry and a CSRF token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminKey } from '../../config/resolve.js';
import type { AdminPrincipal } from '../admin-auth.js';
import { secretLookup } from '../secret-index.js';

export const sessionCookieName = 'covenant_session';
export const csrfHeaderName = 'x-covenant-csrf';

interface ConsoleSession {
  /** The admin key's name and in-memory lookup (never the secret), so a key removed or rotated on reload ends its sessions. */
  keyName: string;
  keyLookup: string;
  csrf: string;
  expiresAt: number;
}

export interface ConsoleSessionsOptions {
  /** How long a session lasts after sign-in; default 8 hours. */
  lifetimeMs?: number;
  /** At most this many live sessions; the oldest goes first. Default 1000. */
  maxSessions?: number;
  /** Failed sign-ins from one address allowed per minute before it must wait; default 10. */
  maxFailuresPerMinute?: number;
  now?: () => number;
}

export interface SessionView {
  id: string;
  csrf: string;
  expiresAt: number;
  principal: AdminPrincipal;
}

function principalOf(key: AdminKey): AdminPrincipal {
  return { name: key.name, role: key.role, department: key.department };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Sessions live in memory: a restart signs everyone out, and each replica keeps its own (sign in where you browse). */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly failures = new Map<string, number[]>();

  constructor(options: ConsoleSessionsOptions = {}) {
    this.lifetimeMs = options.lifetimeMs ?? 8 * 3_600_000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.now = options.now ?? Date.now;
    this.maxFailures = options.maxFailuresPerMinute ?? 10;
  }

  /** Whether this address failed to sign in too often in the last minute (guessing keys). */
  throttled(address: string): boolean {
    const since = this.now() - 60_000;
    const recent = (this.failures.get(address) ?? []).filter((time) => time > since);
    if (recent.length === 0) this.failures.delete(address);
    else this.failures.set(address, recent);
    return recent.length >= this.maxFailures;
  }

  failed(address: string): void {
    if (this.failures.size > 10_000) this.failures.clear();
    this.failures.set(address, [...(this.failures.get(address) ?? []), this.now()]);
  }

  /** Start a session for an admin key that already authenticated. */
  open(key: AdminKey): SessionView {
    this.sweep();
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = { keyName: key.name, keyLookup: secretLookup(key.secret.reveal()), csrf: randomBytes(32).toString('base64url'), expiresAt: this.now() + this.lifetimeMs };
    this.sessions.set(id, session);
    return { id, csrf: session.csrf, expiresAt: session.expiresAt, principal: principalOf(key) };
  }

  /** The live session with this id whose admin key is still configured, else undefined (and an expired one is forgotten). */
  find(id: string | undefined, adminKeys: AdminKey[]): SessionView | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    const key = adminKeys.find((candidate) => candidate.name === session.keyName && secretLookup(candidate.secret.reveal()) === session.keyLookup);
    if (!key) {
      this.sessions.delete(id);
      return undefined;
    }
    return { id, csrf: session.csrf, expiresAt: session.expiresAt, principal: principalOf(key) };
  }

  /** Whether the token a write carried is this session's. */
  csrfMatches(view: SessionView, token: string | undefined): boolean {
    return token !== undefined && sameText(view.csrf, token);
  }

  close(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}
