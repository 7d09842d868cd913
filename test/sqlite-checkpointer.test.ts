// The WAL checkpointer thread: under a writer that never pauses, the WAL stays bounded and every row reaches the database.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCheckpointer } from '../src/stores/sqlite/checkpointer.js';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { createTurnQueue } from '../src/stores/sqlite/turn.js';

const mebibyte = 1024 * 1024;
let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'covenant-checkpointer-'));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('the WAL checkpointer', () => {
  it('keeps the WAL bounded while a writer commits every turn, and loses no row', async () => {
    const path = join(folder, 'covenant.db');
    const database = openDatabase(path);
    database.pragma('wal_autocheckpoint = 0');
    database.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const errors: unknown[] = [];
    const turns = createTurnQueue(database, (error) => errors.push(error));
    const checkpointer = startCheckpointer({
      path, intervalMs: 20, limitBytes: mebibyte, onError: (error) => errors.push(error), betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'), writer: turns,
    });
    const insert = database.prepare('INSERT INTO rows (body) VALUES (?)');
    // As the gateway's ledger does under load: a flush of rows each turn, the checkpointer's thread running beside;
    // here 10 KB a commit and 0.2 ms of work between commits stand for a busy turn's entries and its requests.
    const commit = (count: number) => new Promise<void>((resolve, reject) => {
      turns.schedule(() => {
        for (let index = 0; index < count; index += 1) insert.run('x'.repeat(1000));
        return { committed: resolve, failed: reject };
      });
    });
    let written = 0;
    let largestWal = 0;
    const enough = 64 * mebibyte;
    const until = Date.now() + 20_000;
    while (written * 1000 < enough && Date.now() < until) {
      await commit(10);
      written += 10;
      const busyUntil = performance.now() + 0.2;
      while (performance.now() < busyUntil);
      largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
    }
    await checkpointer.stop();
    const walBytesWritten = written * 1000;
    // Without restarts the WAL holds at least every byte written (more: later commits rewrite the pages). With them it
    // holds what the writer adds between two checkpoints.
    expect(walBytesWritten).toBeGreaterThanOrEqual(enough);
    expect(largestWal).toBeLessThan(walBytesWritten / 5);
    expect(database.prepare('SELECT COUNT(*) FROM rows').pluck().get()).toBe(written);
    database.close();
    // The rows were checkpointed into the database file itself, not only kept in the WAL.
    expect(statSync(path).size).toBeGreaterThan(walBytesWritten / 2);
    expect(errors).toEqual([]);
  });
});
