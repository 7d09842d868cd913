// Virtual keys: an in-memory index for the hot path (by key id, or by a keyed hash of config keys' secrets), backed by the durable key store.
import { createHash, hash, randomBytes } from 'node:crypto';
import type { BudgetConfig, KeyGuardsConfig } from '../config/schema.js';
import type { ConfigKey } from '../config/resolve.js';
import { digestSecret, isLegacyDigest, matchesDigest, parseDigest, verifySecret, type ParsedDigest } from '../core/secret-digest.js';
import { isRevisionConflict, type KeyChanges, type KeyRecord, type KeyRevisionConflict, type KeyStore, type NewKey } from '../stores/records.js';
import { SecretIndex } from './secret-index.js';

/** The id of a config-defined key is stable across restarts and reloads: derived from department and name. */
export function configKeyId(department: string, name: string): string {
  return `key_${createHash('sha256').update(`config:${department}/${name}`).digest('hex').slice(0, 20)}`;
}

/** A new secret for key `key_<id>`: `sk-cov-<id>.<192 random bits>`, so the key is found by id, then verified. */
export function newSecret(idHex: string): string {
  return `sk-cov-${idHex}.${randomBytes(24).toString('base64url')}`;
}

/** The key id a secret made by `newSecret` names, or undefined for any other secret. */
function keyIdOf(secret: string): string | undefined {
  return secret.length > 28 && secret.charCodeAt(27) === 46 && secret.startsWith('sk-cov-') && /^[0-9a-f]{20}$/.test(secret.slice(7, 27))
    ? `key_${secret.slice(7, 27)}` : undefined;
}

/** A salted digest of a secret with a fresh salt. */
export function storedDigest(secret: string): string {
  return digestSecret(secret, randomBytes(16));
}

export class KeyIndex {
  /** Active keys by id (admin-API keys are found this way: their secret names their id). */
  private byId = new Map<string, KeyRecord>();
  /** Active config keys, by a keyed hash of their secret in this process. */
  private configIndex = new SecretIndex<KeyRecord>();
  /** Active keys still stored as an unsalted hash (made before salting), by that hash, until rotated. */
  private legacy = new Map<string, KeyRecord>();
  /** The secrets of config keys as last loaded, by key id. */
  private configSecrets = new Map<string, string>();
  /** Each active key's stored digest, decoded once. */
  private digests = new WeakMap<KeyRecord, ParsedDigest | null>();

  constructor(private readonly store: KeyStore) {}

  /** Sync config keys into the store and load every active key. */
  async load(configKeys: ConfigKey[], now: Date): Promise<void> {
    const stored = new Map((await this.store.list()).map((key) => [key.id, key.secretHash]));
    const secrets = new Map<string, string>();
    const keys: NewKey[] = configKeys.map((key) => {
      const id = configKeyId(key.department, key.name);
      const secret = key.secret.reveal();
      secrets.set(id, secret);
      // An unchanged secret keeps its digest (and salt); a new, changed or still unsalted one gets a fresh salted digest.
      const previous = stored.get(id);
      const secretHash = previous !== undefined && !isLegacyDigest(previous) && verifySecret(secret, previous) ? previous : storedDigest(secret);
      return {
        id, department: key.department, name: key.name, models: key.models, budgets: key.budgets, policy: null, source: 'config', secretHash, createdAt: now.toISOString(),
      };
    });
    await this.store.syncConfigKeys(keys, now.toISOString());
    this.configSecrets = secrets;
    await this.refresh();
  }

  /** Re-read the store (another replica may have created or revoked keys). */
  async refresh(): Promise<void> {
    const byId = new Map<string, KeyRecord>();
    const legacy = new Map<string, KeyRecord>();
    const config: [string, KeyRecord][] = [];
    for (const key of await this.store.list()) {
      if (key.revokedAt !== null) continue;
      byId.set(key.id, key);
      const secret = key.source === 'config' ? this.configSecrets.get(key.id) : undefined;
      if (secret !== undefined) config.push([secret, key]);
      else if (isLegacyDigest(key.secretHash)) legacy.set(key.secretHash, key);
    }
    for (const key of byId.values()) this.digests.set(key, parseDigest(key.secretHash));
    this.byId = byId;
    this.legacy = legacy;
    this.configIndex = new SecretIndex(config);
  }

  /** The active keys as last loaded. */
  active(): IterableIterator<KeyRecord> {
    return this.byId.values();
  }

  /**
   * The active key this secret belongs to, in O(1): an admin-API key by the id in its secret, then checked against its
   * salted digest in constant time; a config key by its keyed hash in this process (an equal keyed hash is an equal
   * secret); a key stored before salting by its unsalted hash.
   */
  find(secret: string): KeyRecord | undefined {
    const id = keyIdOf(secret);
    const byId = id === undefined ? undefined : this.byId.get(id);
    if (byId !== undefined && matchesDigest(secret, this.digests.get(byId) ?? null)) return byId;
    const config = this.configIndex.find(secret);
    if (config !== undefined) return config;
    if (this.legacy.size === 0) return undefined;
    const legacy = this.legacy.get(hash('sha256', secret, 'hex'));
    return legacy !== undefined && matchesDigest(secret, this.digests.get(legacy) ?? null) ? legacy : undefined;
  }

  async list(): Promise<KeyRecord[]> {
    return this.store.list();
  }

  /** Create a key; the secret is returned here once and only its salted digest is kept. */
  async create(options: { department: string; name: string; models: string[] | null; budgets: BudgetConfig[]; policy?: KeyGuardsConfig | null; now: Date }): Promise<{ key: KeyRecord; secret: string }> {
    const idHex = randomBytes(10).toString('hex');
    const secret = newSecret(idHex);
    const key: NewKey = {
      id: `key_${idHex}`,
      department: options.department,
      name: options.name,
      models: options.models,
      budgets: options.budgets,
      policy: options.policy ?? null,
      source: 'api',
      secretHash: storedDigest(secret),
      createdAt: options.now.toISOString(),
    };
    await this.store.insert(key);
    const record: KeyRecord = { ...key, policy: key.policy ?? null, revokedAt: null, revision: 1 };
    this.digests.set(record, parseDigest(record.secretHash));
    this.byId.set(key.id, record);
    return { key: record, secret };
  }

  /**
   * Edit an active admin-API key (only if it still has `expectedRevision`, when given); this process serves the edit
   * from the next request, other replicas on their next refresh.
   */
  async update(id: string, changes: KeyChanges, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined> {
    const key = await this.store.update(id, changes, expectedRevision);
    if (key !== undefined && !isRevisionConflict(key)) await this.refresh();
    return key;
  }

  async revoke(id: string, now: Date): Promise<KeyRecord | undefined> {
    const key = await this.store.revoke(id, now.toISOString());
    if (key) await this.refresh();
    return key;
  }
}
