// `covenant audit …`: verify the evidence ledger, show its head, entries and proofs, export and verify bundles.
// Actions set process.exitCode (0 ok, 1 verification failed, 2 usage or input error) instead of exiting, so tests can run them.
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { openSqliteLedger } from '../stores/sqlite/ledger-store.js';
import { verifyLedger } from '../ledger/verify.js';
import { exportBundle, verifyBundle } from '../ledger/bundle.js';
import type { LedgerStore } from '../ledger/types.js';

export const defaultDataPath = '.covenant/covenant.db';

export interface AuditOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** An error in what the user typed or pointed at: exit code 2 with this message. */
class InputError extends Error {}

interface DataOptions {
  data: string;
}

/** Add the `audit` command group to a commander program. `output` defaults to the process's streams. */
export function registerAuditCommands(program: Command, output: Partial<AuditOutput> = {}): Command {
  const write: AuditOutput = {
    stdout: output.stdout ?? ((text) => process.stdout.write(text)),
    stderr: output.stderr ?? ((text) => process.stderr.write(text)),
  };
  const audit = program.command('audit').description('Verify and inspect the tamper-evident evidence ledger');
  const dataOption = ['--data <path>', 'ledger database: a SQLite file, or postgres://…?schema=NAME in distributed mode', defaultDataPath] as const;

  audit
    .command('verify')
    .description('Recompute every leaf and root; check every checkpoint signature and their consistency')
    .option(...dataOption)
    .option('--key <verifier-key>', 'verifier key obtained out of band (default: the key stored with the ledger)')
    .action((options: DataOptions & { key?: string }) =>
      run(write, 'verify', async () =>
        withLedger(options.data, async (store) => {
          const result = await verifyLedger(store, { verifierKey: options.key });
          if (result.ok) {
            write.stdout(`ok: ${result.size} entries and ${result.checkpoints} checkpoints verified; root ${result.rootHash}\n`);
            return 0;
          }
          const where = result.firstBadSeq === null ? 'verification failed' : `verification failed at seq ${result.firstBadSeq}`;
          write.stdout(`${where}: ${result.reason}\n`);
          return 1;
        }),
      ),
    );

  audit
    .command('head')
    .description('Print the latest signed checkpoint')
    .option(...dataOption)
    .option('--json', 'print {size, root_hash, time, checkpoint} as JSON')
    .action((options: DataOptions & { json?: boolean }) =>
      run(write, 'head', async () =>
        withLedger(options.data, async (store) => {
          const checkpoint = await store.latestCheckpoint();
          if (checkpoint === undefined) throw new InputError('the ledger has no signed checkpoint yet');
          if (options.json) write.stdout(json({ size: checkpoint.size, root_hash: checkpoint.rootHash, time: checkpoint.time, checkpoint: checkpoint.note }));
          else write.stdout(checkpoint.note);
          return 0;
        }),
      ),
    );

  audit
    .command('entries')
    .description('List entries')
    .option(...dataOption)
    .option('--from <seq>', 'first sequence number', '0')
    .option('--limit <count>', 'at most this many', '100')
    .option('--department <name>', "only this department's entries")
    .option('--kind <kind>', 'only entries of this kind')
    .option('--json', 'print the entries as a JSON array')
    .action((options: DataOptions & { from: string; limit: string; department?: string; kind?: string; json?: boolean }) =>
      run(write, 'entries', async () => {
        const from = integer(options.from, '--from');
        const limit = integer(options.limit, '--limit');
        if (limit < 1 || limit > 100_000) throw new InputError('--limit must be from 1 to 100000');
        return withLedger(options.data, async (store) => {
          const entries = await store.entries({ from, limit, department: options.department, kind: options.kind });
          if (options.json) write.stdout(json(entries.map((stored) => stored.entry)));
          else for (const stored of entries) write.stdout(entryLine(stored.entry));
          return 0;
        });
      }),
    );

  audit
    .command('proof')
    .description('Inclusion proof of one entry, as JSON')
    .option(...dataOption)
    .option('--index <seq>', 'sequence number (leaf index) of the entry')
    .option('--tree-size <size>', 'tree size to prove against (default: the latest checkpoint covering the entry)')
    .action((options: DataOptions & { index?: string; treeSize?: string }) =>
      run(write, 'proof', async () => {
        if (options.index === undefined) throw new InputError('--index is required');
        const index = integer(options.index, '--index');
        const treeSize = options.treeSize === undefined ? undefined : integer(options.treeSize, '--tree-size');
        return withLedger(options.data, async (store) => {
          write.stdout(json(await store.inclusionProof(index, treeSize)));
          return 0;
        });
      }),
    );

  audit
    .command('consistency')
    .description('Consistency proof between two tree sizes, as JSON')
    .option(...dataOption)
    .option('--from <size>', 'first (older) tree size')
    .option('--to <size>', 'second (newer) tree size')
    .action((options: DataOptions & { from?: string; to?: string }) =>
      run(write, 'consistency', async () => {
        if (options.from === undefined || options.to === undefined) throw new InputError('--from and --to are required');
        const first = integer(options.from, '--from');
        const second = integer(options.to, '--to');
        return withLedger(options.data, async (store) => {
          write.stdout(json(await store.consistencyProof(first, second)));
          return 0;
        });
      }),
    );

  audit
    .command('export')
    .description('Write entries with inclusion proofs, the checkpoint and the public key to one file')
    .option(...dataOption)
    .option('--out <file>', 'bundle file to write')
    .option('--since <time>', 'only entries at or after this ISO 8601 time')
    .option('--department <name>', "only this department's entries")
    .action((options: DataOptions & { out?: string; since?: string; department?: string }) =>
      run(write, 'export', async () => {
        if (options.out === undefined) throw new InputError('--out is required');
        const since = options.since === undefined ? undefined : time(options.since, '--since');
        return withLedger(options.data, async (store) => {
          const bundle = await exportBundle(store, { since, department: options.department });
          writeFileSync(options.out as string, json(bundle));
          write.stdout(`exported ${bundle.entries.length} entries with proofs against the checkpoint of size ${bundle.tree_size} to ${options.out}\n`);
          return 0;
        });
      }),
    );

  audit
    .command('verify-bundle')
    .description('Verify an exported bundle offline, without the database')
    .argument('<file>', 'bundle file')
    .option('--key <verifier-key>', 'verifier key obtained out of band (default: the key inside the bundle)')
    .action((file: string, options: { key?: string }) =>
      run(write, 'verify-bundle', async () => {
        if (!existsSync(file)) throw new InputError(`no bundle file at ${file}`);
        const result = verifyBundle(readFileSync(file, 'utf8'), { publicKey: options.key });
        if (result.ok) {
          write.stdout(`ok: ${result.entries} entries proven in the signed tree of size ${result.size}; root ${result.rootHash}\n`);
          if (options.key === undefined) write.stderr('note: checked with the key inside the bundle; pass --key with the published key to rule out a substituted key\n');
          return 0;
        }
        const where = result.firstBadSeq === null ? 'verification failed' : `verification failed at seq ${result.firstBadSeq}`;
        write.stdout(`${where}: ${result.reason}\n`);
        return 1;
      }),
    );

  audit
    .command('public-key')
    .description("Print the ledger's verifier key (never the private key)")
    .option(...dataOption)
    .action((options: DataOptions) =>
      run(write, 'public-key', async () =>
        withLedger(options.data, async (store) => {
          write.stdout(`${await store.publicKey()}\n`);
          return 0;
        }),
      ),
    );

  return audit;
}

/** Run an action and turn its outcome into process.exitCode; every error is an input error (exit 2) with its message. */
async function run(write: AuditOutput, name: string, action: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (error) {
    write.stderr(`covenant audit ${name}: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}

async function withLedger(path: string, action: (store: LedgerStore) => Promise<number>): Promise<number> {
  if (/^postgres(ql)?:\/\//.test(path)) return withPostgresLedger(path, action);
  if (path !== ':memory:' && !existsSync(path)) throw new InputError(`no ledger database at ${path} (pass --data with the database file)`);
  const store = openSqliteLedger({ path, readOnly: true });
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

/** Distributed mode: `--data postgres://host/db?schema=covenant` reads the shared ledger. */
async function withPostgresLedger(url: string, action: (store: LedgerStore) => Promise<number>): Promise<number> {
  const { parsePostgresLocation } = await import('../stores/postgres/index.js');
  const { openPostgres } = await import('../stores/postgres/database.js');
  const { openPostgresLedger } = await import('../stores/postgres/ledger-store.js');
  const location = parsePostgresLocation(url);
  const database = await openPostgres({ url: location.url, schema: location.schema });
  try {
    const store = await openPostgresLedger({ database, readOnly: true });
    try {
      return await action(store);
    } finally {
      await store.close();
    }
  } finally {
    await database.close();
  }
}

function integer(text: string, name: string): number {
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InputError(`${name} must be a non-negative integer, not "${text}"`);
  return Number(text);
}

function time(text: string, name: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new InputError(`${name} must be an ISO 8601 time such as 2025-01-31T00:00:00Z, not "${text}"`);
  return date;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function entryLine(entry: { seq: number; time: string; kind: string; [field: string]: unknown }): string {
  const fields = ['department', 'key', 'user', 'alias', 'upstream_model']
    .filter((field) => typeof entry[field] === 'string')
    .map((field) => `${field}=${entry[field] as string}`);
  const decision = entry.decision as { outcome?: string; reason?: string } | undefined;
  if (decision?.outcome !== undefined) fields.push(`decision=${decision.outcome}${decision.reason ? `(${decision.reason})` : ''}`);
  if (typeof entry.cost_usd_micros === 'number') fields.push(`cost_usd_micros=${entry.cost_usd_micros}`);
  return `${entry.seq}\t${entry.time}\t${entry.kind}\t${fields.join(' ')}\n`;
}
