// Console sign-in sessions at rest: the record (digests only, never the session id or the admin key) and the store every backend implements.

/** One signed-in browser. The cookie's id and the admin key's secret appear only as digests. */
export interface ConsoleSessionRecord {
  /** SHA-256 of the session id (the id is 256 random bits, so an unsalted digest cannot be reversed). */
  idDigest: string;
  /** The admin key's name in the config. */
  keyName: string;
  /** The admin key's secret as a salted digest (`core/secret-digest.ts`): any replica can check it, none can reverse it. */
  keyDigest: string;
  /** The token a write made with this session must carry; useless without the cookie, and the page reads it back. */
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

export interface ConsoleSessionLimits {
  now: number;
  /** At most this many sessions remain once the new one is kept; the oldest go first. */
  maxSessions: number;
}

/** Where console sessions live, so every replica sees the same ones and a restart keeps them. */
export interface ConsoleSessionStore {
  /** Keep a new session: sessions expired at `now` go first, then the oldest until at most `maxSessions` remain. */
  open(record: ConsoleSessionRecord, limits: ConsoleSessionLimits): Promise<void>;
  /** The session with this id digest, expired or not (the caller decides). */
  find(idDigest: string): Promise<ConsoleSessionRecord | undefined>;
  /** Forget one session (sign-out); nothing when there is none. */
  close(idDigest: string): Promise<void>;
  /** Remove the sessions expired at `now`; how many went. */
  prune(now: number): Promise<number>;
  /** How many sessions are live at `now`. */
  count(now: number): Promise<number>;
}

/** A session's row as both SQL backends hold it. */
export interface ConsoleSessionRow {
  id_digest: string;
  key_name: string;
  key_digest: string;
  csrf: string;
  created_at: number;
  expires_at: number;
}

export const consoleSessionColumns = ['id_digest', 'key_name', 'key_digest', 'csrf', 'created_at', 'expires_at'] as const;

export function consoleSessionValues(record: ConsoleSessionRecord): (string | number)[] {
  return [record.idDigest, record.keyName, record.keyDigest, record.csrf, record.createdAt, record.expiresAt];
}

export function consoleSessionFromRow(row: ConsoleSessionRow): ConsoleSessionRecord {
  return {
    idDigest: row.id_digest, keyName: row.key_name, keyDigest: row.key_digest, csrf: row.csrf,
    createdAt: Number(row.created_at), expiresAt: Number(row.expires_at),
  };
}
