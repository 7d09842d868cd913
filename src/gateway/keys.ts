// Virtual keys: an in-memory index by secret hash for the hot path, backed by the durable key store.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { BudgetConfig, KeyGuardsConfig } from '../config/schema.js';
import type { ConfigKey } from '../config/resolve.js';
import { hashSecret } from '../config/resolve.js';
import type { KeyRecord, KeyStore, NewKey } from '../stores/records.js';

/** The id of a config-defined key is stable across restarts and reloads: derived from department and name. */
export function configKeyId(department: string, name: string): string {
  return `key_${createHash('sha256').update(`config:${department}/${name}`).digest('hex').slice(0, 20)}`;
}

/** A new secret: 192 random bits, printable. */
export function newSecret(): string {
  return `sk-cov-${randomBytes(24).toString('base64url')}`;
}

export class KeyIndex {
  private byHash = new Map<string, KeyRecord>();

  constructor(private readonly store: KeyStore) {}

  /** Sync config keys into the store and load every active key. */
  async load(configKeys: ConfigKey[], now: Date): Promise<void> {
    const keys: NewKey[] = configKeys.map((key) => ({
      id: configKeyId(key.department, key.name),
      department: key.department,
      name: key.name,
      models: key.models,
      budgets: key.budgets,
      policy: null,
      source: 'config',
      secretHash: key.secretHash,
      createdAt: now.toISOString(),
    }));
    await this.store.syncConfigKeys(keys, now.toISOString());
    await this.refresh();
  }

  /** Re-read the store (another replica may have created or revoked keys). */
  async refresh(): Promise<void> {
    const next = new Map<string, KeyRecord>();
    for (const key of await this.store.list()) if (key.revokedAt === null) next.set(key.secretHash, key);
    this.byHash = next;
  }

  /** The active keys as last loaded. */
  active(): IterableIterator<KeyRecord> {
    return this.byHash.values();
  }

  find(secret: string): KeyRecord | undefined {
    return this.byHash.get(hashSecret(secret));
  }

  async list(): Promise<KeyRecord[]> {
    return this.store.list();
  }

  /** Create a key; the secret is returned here once and only its hash is kept. */
  async create(options: { department: string; name: string; models: string[] | null; budgets: BudgetConfig[]; policy?: KeyGuardsConfig | null; now: Date }): Promise<{ key: KeyRecord; secret: string }> {
    const secret = newSecret();
    const key: NewKey = {
      id: `key_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
      department: options.department,
      name: options.name,
      models: options.models,
      budgets: options.budgets,
      policy: options.policy ?? null,
      source: 'api',
      secretHash: hashSecret(secret),
      createdAt: options.now.toISOString(),
    };
    await this.store.insert(key);
    const record: KeyRecord = { ...key, policy: key.policy ?? null, revokedAt: null };
    this.byHash.set(key.secretHash, record);
    return { key: record, secret };
  }

  async revoke(id: string, now: Date): Promise<KeyRecord | undefined> {
    const key = await this.store.revoke(id, now.toISOString());
    if (key) this.byHash.delete(key.secretHash);
    return key;
  }
}
