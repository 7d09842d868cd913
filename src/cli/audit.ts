// `covenant audit …`: verify the evidence ledger, show its head, entries and proofs, export and verify bundles.
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { openSqliteLedger } from '../stores/sqlite/ledger-store.js';
import { verifyLedger } from '../ledger/verify.js';
import { exportBundle, verifyBundle } from '../ledger/bundle.js';
import type { LedgerStore } from '../ledger/types.js';
import { commandOutput, defaultDataPath, exitCodes, InputError, runCommand, storeLocation, type CommandOutput, type ExitCode } from './command.js';

interface DataOptions {
  data?: string;
  config?: string;
}

/** Add the `audit` command group to a commander program. `output` defaults to the process's streams and environment. */
export function registerAuditCommands(program: Command, output: Partial<CommandOutput> = {}): Command {
  const write = commandOutput(output);
  const audit = program.command('audit').description('Verify and inspect the tamper-evident evidence ledger');
  const run = (name: string, action: () => Promise<ExitCode>) => runCommand(write, `audit ${name}`, action);
  /** Every command that reads the ledger finds it by --data or by the config's store. */
  const withStore = (command: Command) => command
    .option('--data <path>', `ledger database: a SQLite file, or postgres://…?schema=NAME in distributed mode (default: the config's store, else ${defaultDataPath})`)
    .option('-c, --config <path>', "config file (env COVENANT_CONFIG) whose store holds the ledger");
  const withLedger = (options: DataOptions, action: (store: LedgerStore) => Promise<ExitCode>) =>
    openLedger(storeLocation(options, write.environment), action);

  withStore(audit
    .command('verify')
    .description('Recompute every leaf and root; check every checkpoint signature and their consistency'))
    .option('--key <verifier-key>', 'verifier key obtained out of band (default: the key stored with the ledger)')
    .action((options: DataOptions & { key?: string }) =>
      run('verify', async () =>
        withLedger(options, async (store) => {
          const result = await verifyLedger(store, { verifierKey: options.key });
          if (result.ok) {
            write.stdout(`ok: ${result.size} entries and ${result.checkpoints} checkpoints verified; root ${result.rootHash}\n`);
            return exitCodes.ok;
          }
          const where = result.firstBadSeq === null ? 'verification failed' : `verification failed at seq ${result.firstBadSeq}`;
          write.stdout(`${where}: ${result.reason}\n`);
          return exitCodes.breach;
        }),
      ),
    );

  withStore(audit
    .command('head')
    .description('Print the latest signed checkpoint'))
    .option('--json', 'print {size, root_hash, time, checkpoint} as JSON')
    .action((options: DataOptions & { json?: boolean }) =>
      run('head', async () =>
        withLedger(options, async (store) => {
          const checkpoint = await store.latestCheckpoint();
          if (checkpoint === undefined) throw new InputError('the ledger has no signed checkpoint yet');
          if (options.json) write.stdout(json({ size: checkpoint.size, root_hash: checkpoint.rootHash, time: checkpoint.time, checkpoint: checkpoint.note }));
          else write.stdout(checkpoint.note);
          return exitCodes.ok;
        }),
      ),
    );

  withStore(audit
    .command('entries')
    .description('List entries'))
    .option('--from <seq>', 'first sequence number', '0')
    .option('--limit <count>', 'at most this many', '100')
    .option('--department <name>', "only this department's entries")
    .option('--kind <kind>', 'only entries of this kind')
    .option('--json', 'print the entries as a JSON array')
    .action((options: DataOptions & { from: string; limit: string; department?: string; kind?: string; json?: boolean }) =>
      run('entries', async () => {
        const from = integer(options.from, '--from');
        const limit = integer(options.limit, '--limit');
        if (limit < 1 || limit > 100_000) throw new InputError('--limit must be from 1 to 100000');
        return withLedger(options, async (store) => {
          const entries = await store.entries({ from, limit, department: options.department, kind: options.kind });
          if (options.json) write.stdout(json(entries.map((stored) => stored.entry)));
          else for (const stored of entries) write.stdout(entryLine(stored.entry));
          return exitCodes.ok;
        });
      }),
    );

  withStore(audit
    .command('proof')
    .description('Inclusion proof of one entry, as JSON'))
    .option('--index <seq>', 'sequence number (leaf index) of the entry')
    .option('--tree-size <size>', 'tree size to prove against (default: the latest checkpoint covering the entry)')
    .action((options: DataOptions & { index?: string; treeSize?: string }) =>
      run('proof', async () => {
        if (options.index === undefined) throw new InputError('--index is required');
        const index = integer(options.index, '--index');
        const treeSize = options.treeSize === undefined ? undefined : integer(options.treeSize, '--tree-size');
        return withLedger(options, async (store) => {
          write.stdout(json(await store.inclusionProof(index, treeSize)));
          return exitCodes.ok;
        });
      }),
    );

  withStore(audit
    .command('consistency')
    .description('Consistency proof between two tree sizes, as JSON'))
    .option('--from <size>', 'first (older) tree size')
    .option('--to <size>', 'second (newer) tree size')
    .action((options: DataOptions & { from?: string; to?: string }) =>
      run('consistency', async () => {
        if (options.from === undefined || options.to === undefined) throw new InputError('--from and --to are required');
        const first = integer(options.from, '--from');
        const second = integer(options.to, '--to');
        return withLedger(options, async (store) => {
          write.stdout(json(await store.consistencyProof(first, second)));
          return exitCodes.ok;
        });
      }),
    );

  withStore(audit
    .command('export')
    .description('Write entries with inclusion proofs, the checkpoint and the public key to one file'))
    .option('--out <file>', 'bundle file to write')
    .option('--since <time>', 'only entries at or after this ISO 8601 time')
    .option('--department <name>', "only this department's entries")
    .action((options: DataOptions & { out?: string; since?: string; department?: string }) =>
      run('export', async () => {
        if (options.out === undefined) throw new InputError('--out is required');
        const since = options.since === undefined ? undefined : time(options.since, '--since');
        return withLedger(options, async (store) => {
          const bundle = await exportBundle(store, { since, department: options.department });
          writeFileSync(options.out as string, json(bundle));
          write.stdout(`exported ${bundle.entries.length} entries with proofs against the checkpoint of size ${bundle.tree_size} to ${options.out}\n`);
          return exitCodes.ok;
        });
      }),
    );

  audit
    .command('verify-bundle')
    .description('Verify an exported bundle offline, without the database')
    .argument('<file>', 'bundle file')
    .option('--key <verifier-key>', 'verifier key obtained out of band (default: the key inside the bundle)')
    .action((file: string, options: { key?: string }) =>
      run('verify-bundle', async () => {
        if (!existsSync(file)) throw new InputError(`no bundle file at ${file}`);
        const result = verifyBundle(readFileSync(file, 'utf8'), { publicKey: options.key });
        if (result.ok) {
          write.stdout(`ok: ${result.entries} entries proven in the signed tree of size ${result.size}; root ${result.rootHash}\n`);
          if (options.key === undefined) write.stderr('note: checked with the key inside the bundle; pass --key with the published key to rule out a substituted key\n');
          return exitCodes.ok;
        }
        const where = result.firstBadSeq === null ? 'verification failed' : `verification failed at seq ${result.firstBadSeq}`;
        write.stdout(`${where}: ${result.reason}\n`);
        return exitCodes.breach;
      }),
    );

  withStore(audit
    .command('public-key')
    .description("Print the ledger's verifier key (never the private key)"))
    .action((options: DataOptions) =>
      run('public-key', async () =>
        withLedger(options, async (store) => {
          write.stdout(`${await store.publicKey()}\n`);
          return exitCodes.ok;
        }),
      ),
    );

  return audit;
}

async function openLedger(path: string, action: (store: LedgerStore) => Promise<ExitCode>): Promise<ExitCode> {
  if (/^postgres(ql)?:\/\//.test(path)) return withPostgresLedger(path, action);
  if (path !== ':memory:' && !existsSync(path)) throw new InputError(`no ledger database at ${path} (pass --data with the database file, or --config)`);
  const store = openSqliteLedger({ path, readOnly: true });
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

/** Distributed mode: `--data postgres://host/db?schema=covenant` reads the shared ledger. */
async function withPostgresLedger(url: string, action: (store: LedgerStore) => Promise<ExitCode>): Promise<ExitCode> {
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
