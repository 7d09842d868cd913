// SIGKILL durability: every append whose promise resolved survives a kill -9, the log verifies, and appends continue without a gap.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { verifyLedger } from '../src/ledger/index.js';
import { openSqliteLedger } from '../src/stores/sqlite/ledger-store.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const ledgerModule = pathToFileURL(join(projectRoot, 'src/stores/sqlite/ledger-store.ts')).href;

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'covenant-ledger-kill-'));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

// The child appends in bursts and prints each sequence number only after its append promise resolved, the way the
// gateway answers a request only after the ledger committed its entry. When the test reads slower than the child
// prints, Node queues the lines in the child and a SIGKILL loses them: those entries are then not checked, which
// weakens the check but can never fail it wrongly.
const childSource = `
import { openSqliteLedger } from ${JSON.stringify(ledgerModule)};
const store = openSqliteLedger({ path: process.argv[2], checkpointIntervalMs: 20 });
let counter = 0;
for (;;) {
  const burst = Array.from({ length: 1 + (counter % 97) }, () => store.append({ kind: 'inference', department: 'legal', counter: counter++ }));
  for (const pending of burst) pending.then((result) => process.stdout.write(result.seq + '\\n'));
  await Promise.all(burst);
}
`;

describe('SIGKILL durability', () => {
  it('keeps every acknowledged entry, verifies, and continues without a gap', async () => {
    const script = join(folder, 'append-forever.mjs');
    const database = join(folder, 'covenant.db');
    writeFileSync(script, childSource);
    const child = spawn(process.execPath, ['--import', 'tsx', script, database], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: number[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) acknowledged.push(Number(line));
      // Kill mid-stream, once a good number of batches (and some checkpoints) are behind us.
      if (acknowledged.length >= 20_000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    const signal = await exited;
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(20_000);

    const store = openSqliteLedger({ path: database });
    try {
      const head = await store.head();
      const highest = Math.max(...acknowledged);
      expect(head.size).toBeGreaterThan(highest);
      const present = new Set<number>();
      for (let from = 0; from < head.size; from += 50_000) {
        for (const stored of await store.entries({ from, limit: 50_000 })) present.add(stored.seq);
      }
      expect(acknowledged.filter((seq) => !present.has(seq))).toEqual([]);
      expect(present.size).toBe(head.size);
      const verification = await verifyLedger(store);
      expect(verification).toMatchObject({ ok: true, size: head.size });
      // Reopening signed a checkpoint over whatever was committed after the last one before the kill.
      expect((await store.latestCheckpoint())?.size).toBe(head.size);
      expect((await store.append({ kind: 'config.reloaded' })).seq).toBe(head.size);
    } finally {
      await store.close();
    }
  });
});
