// Console sign-in sessions: open, find and close them over a ConsoleSessionStore, with a short read cache and per-process sign-in throttling.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminKey } from '../config/resolve.js';
import { RecencyMap } from '../core/recency-map.js';
import { digestSecret, verifySecret } from '../core/secret-digest.js';
import type { ConsoleSessionRecord, ConsoleSessionStore } from './store.js';

export interface ConsoleSessionsOptions {
  store: ConsoleSessionStore;
  /** How long a session lasts after sign-in; default 8 hours. */
  lifetimeMs?: number;
  /** At most this many live sessions; the oldest goes first. Default 1000. */
  maxSessions?: number;
  /** Failed sign-ins from one address allowed per minute before it must wait; default 10. */
  maxFailuresPerMinute?: number;
  /**
   * How long this process trusts a session it read before reading the store again; default 1000 ms. A sign-out on
   * another replica ends the session here within this time; a sign-out here, and a key removed from this replica's
   * config, at once.
   */
  cacheMs?: number;
  now?: () => number;
}

/** Who a session signs in as: the admin key's name, role and department scope. */
export type SessionPrincipal = Pick<AdminKey, 'name' | 'role' | 'department'>;

export interface SessionView {
  id: string;
  csrf: string;
  expiresAt: number;
  principal: SessionPrincipal;
}

function principalOf(key: AdminKey): SessionPrincipal {
  return { name: key.name, role: key.role, department: key.department };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What the store keeps of a session id: its SHA-256, so the store never holds a usable cookie. */
export function sessionIdDigest(id: string): string {
  return hash('sha256', id, 'base64url');
}

/** Sessions live in the store (shared by replicas, kept across restarts); failed sign-ins are counted per process. */
export class ConsoleSessions {
  private readonly store: ConsoleSessionStore;
  private readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly failures = new Map<string, number[]>();
  /** Least recently read from the store first; full, a new read drops the first. */
  private readonly cache: RecencyMap<string, { record: ConsoleSessionRecord; readAt: number }>;

  constructor(options: ConsoleSessionsOptions) {
    this.store = options.store;
    this.lifetimeMs = options.lifetimeMs ?? 8 * 3_600_000;
    this.maxSessions = options.maxSessions ?? 1000;
    this.cacheMs = options.cacheMs ?? 1000;
    this.cache = new RecencyMap(Math.max(1, this.maxSessions));
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

  /** Start a session for an admin key that already authenticated; expired sessions are pruned on the way. */
  async open(key: AdminKey): Promise<SessionView> {
    const now = this.now();
    const id = randomBytes(32).toString('base64url');
    const record: ConsoleSessionRecord = {
      idDigest: sessionIdDigest(id), keyName: key.name, keyDigest: digestSecret(key.secret.reveal(), randomBytes(16)),
      csrf: randomBytes(32).toString('base64url'), createdAt: now, expiresAt: now + this.lifetimeMs,
    };
    await this.store.open(record, { now, maxSessions: this.maxSessions });
    return { id, csrf: record.csrf, expiresAt: record.expiresAt, principal: principalOf(key) };
  }

  /**
   * The live session with this id whose admin key is still configured (same name, same secret), else undefined.
   * An expired session is deleted; one whose key this replica does not know is refused but kept, so a replica whose
   * config lags behind a reload does not sign out everyone else.
   */
  async find(id: string | undefined, adminKeys: AdminKey[]): Promise<SessionView | undefined> {
    if (!id) return undefined;
    const digest = sessionIdDigest(id);
    const record = await this.read(digest);
    if (!record) return undefined;
    if (record.expiresAt <= this.now()) {
      await this.close(id);
      return undefined;
    }
    const key = adminKeys.find((candidate) => candidate.name === record.keyName && verifySecret(candidate.secret.reveal(), record.keyDigest));
    if (!key) return undefined;
    return { id, csrf: record.csrf, expiresAt: record.expiresAt, principal: principalOf(key) };
  }

  /** Whether the token a write carried is this session's. */
  csrfMatches(view: SessionView, token: string | undefined): boolean {
    return token !== undefined && sameText(view.csrf, token);
  }

  async close(id: string | undefined): Promise<void> {
    if (!id) return;
    const digest = sessionIdDigest(id);
    this.cache.delete(digest);
    await this.store.close(digest);
  }

  /** How many sessions are live now, on every replica. */
  count(): Promise<number> {
    return this.store.count(this.now());
  }

  /** The stored session, read at most once per `cacheMs` (the request path's one store read is usually none). */
  private async read(digest: string): Promise<ConsoleSessionRecord | undefined> {
    const now = this.now();
    const cached = this.cache.peek(digest);
    if (cached && now - cached.readAt < this.cacheMs) return cached.record;
    this.cache.delete(digest);
    const record = await this.store.find(digest);
    if (!record) return undefined;
    this.cache.set(digest, { record, readAt: now });
    return record;
  }
}
