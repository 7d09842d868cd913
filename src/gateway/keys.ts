// Virtual keys: an in-memory index for the hot path (by key id, or by a keyed hash of config keys' secrets), backed by the durable key store.
import { createHash, hash, randomBytes } from 'node:crypto';
import type { BudgetConfig, KeyGuardsConfig } from '../config/schema.js';
import type { ConfigKey } from '../config/resolve.js';
import { digestSecret, isLegacyDigest, matchesDigest, parseDigest, verifySecret, type ParsedDigest } from '../core/secret-digest.js';
import { isRevisionConflict, type ChangedKeys, type KeyChanges, type KeyRecord, type KeyRevisionConflict, type KeyStore, type NewKey } from '../stores/records.js';
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
  /** Every key as last read, revoked ones too (alerts and pruned windows name a revoked key's department). */
  private byId = new Map<string, KeyRecord>();
  /** The ids of config keys, by a keyed hash of their secret in this process. */
  private configIndex = new SecretIndex<string>();
  /** The ids of active keys still stored as an unsalted hash (made before salting), by that hash, until rotated. */
  private legacy = new Map<string, string>();
  /** The secrets of config keys as last loaded, by key id. */
  private configSecrets = new Map<string, string>();
  /** Each active key's stored digest, decoded once. */
  private digests = new WeakMap<KeyRecord, ParsedDigest | null>();
  /** The store's change sequence this index has read up to. */
  private sequence = 0;
  /** The refresh in progress: refreshes run one after another, so an older read never overwrites a newer one. */
  private reading: Promise<number> = Promise.resolve(0);

  constructor(private readonly store: KeyStore) {}

  /** Sync config keys into the store and load every key. */
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
    // The config's secrets decide which keys are found by keyed hash and which by legacy hash: read every key again,
    // then swap in one step, so requests meanwhile find the keys as they were.
    await this.queue(async () => {
      const every = await this.store.changedSince(0);
      this.configSecrets = secrets;
      this.configIndex = new SecretIndex([...secrets].map(([id, secret]) => [secret, id]));
      this.byId = new Map();
      this.legacy = new Map();
      return this.applyChanges(every);
    });
  }

  /**
   * Apply the keys created, edited or revoked since the last read (here or on another replica); resolves how many
   * changed. With nothing changed it costs one indexed query that returns no row.
   */
  refresh(): Promise<number> {
    return this.queue(() => this.readChanges());
  }

  private queue(work: () => Promise<number>): Promise<number> {
    this.reading = this.reading.then(work, work);
    return this.reading;
  }

  private async readChanges(): Promise<number> {
    return this.applyChanges(await this.store.changedSince(this.sequence));
  }

  private applyChanges(changed: ChangedKeys): number {
    for (const key of changed.keys) this.apply(key);
    this.sequence = changed.sequence;
    return changed.keys.length;
  }

  /** Put one key's latest record in place of its previous one. */
  private apply(key: KeyRecord): void {
    const previous = this.byId.get(key.id);
    if (previous !== undefined && this.legacy.get(previous.secretHash) === key.id) this.legacy.delete(previous.secretHash);
    this.byId.set(key.id, key);
    if (key.revokedAt !== null) return;
    this.digests.set(key, parseDigest(key.secretHash));
    if (!(key.source === 'config' && this.configSecrets.has(key.id)) && isLegacyDigest(key.secretHash)) this.legacy.set(key.secretHash, key.id);
  }

  /** The active keys as last read. */
  *active(): IterableIterator<KeyRecord> {
    for (const key of this.byId.values()) if (key.revokedAt === null) yield key;
  }

  /** A key as last read, revoked or not. */
  known(id: string): KeyRecord | undefined {
    return this.byId.get(id);
  }

  /**
   * The active key this secret belongs to, in O(1): an admin-API key by the id in its secret, then checked against its
   * salted digest in constant time; a config key by its keyed hash in this process (an equal keyed hash is an equal
   * secret); a key stored before salting by its unsalted hash.
   */
  find(secret: string): KeyRecord | undefined {
    const id = keyIdOf(secret);
    const byId = id === undefined ? undefined : this.activeKey(id);
    if (byId !== undefined && matchesDigest(secret, this.digests.get(byId) ?? null)) return byId;
    const config = this.configIndex.find(secret);
    if (config !== undefined) return this.activeKey(config);
    if (this.legacy.size === 0) return undefined;
    const legacyId = this.legacy.get(hash('sha256', secret, 'hex'));
    const legacy = legacyId === undefined ? undefined : this.activeKey(legacyId);
    return legacy !== undefined && matchesDigest(secret, this.digests.get(legacy) ?? null) ? legacy : undefined;
  }

  private activeKey(id: string): KeyRecord | undefined {
    const key = this.byId.get(id);
    return key?.revokedAt === null ? key : undefined;
  }

  async list(): Promise<KeyRecord[]> {
    return this.store.list();
  }

  /** One key from the store, revoked or not, at its current revision. */
  async stored(id: string): Promise<KeyRecord | undefined> {
    return this.store.get(id);
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
    await this.refresh();
    return { key: this.byId.get(key.id) ?? { ...key, policy: key.policy ?? null, revokedAt: null, revision: 1 }, secret };
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

  /** Revoke a key (with `expectedRevision`, only while it still has that revision: see KeyStore.revoke). */
  async revoke(id: string, now: Date, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined> {
    const key = await this.store.revoke(id, now.toISOString(), expectedRevision);
    if (key !== undefined && !isRevisionConflict(key)) await this.refresh();
    return key;
  }
}
