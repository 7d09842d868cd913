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

/** A database with one table, its turn queue, and a writer that commits rows as the gateway's ledger does. */
function openWriter(path: string) {
  const database = openDatabase(path);
  database.pragma('wal_autocheckpoint = 0');
  database.exec('CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const errors: unknown[] = [];
  const turns = createTurnQueue(database, (error) => errors.push(error));
  const insert = database.prepare('INSERT INTO rows (body) VALUES (?)');
  let written = 0;
  // A flush of rows each turn, the checkpointer's thread running beside; 10 KB a commit and 0.2 ms of work between
  // commits stand for a busy turn's entries and its requests. Returns the largest the WAL file was meanwhile.
  const write = async (bytes: number) => {
    let largestWal = 0;
    const until = Date.now() + 20_000;
    for (let done = 0; done < bytes && Date.now() < until; done += 10_000) {
      await new Promise<void>((resolve, reject) => {
        turns.schedule(() => {
          for (let index = 0; index < 10; index += 1) insert.run('x'.repeat(1000));
          return { committed: resolve, failed: reject };
        });
      });
      written += 10;
      const busyUntil = performance.now() + 0.2;
      while (performance.now() < busyUntil);
      largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
    }
    return largestWal;
  };
  return { database, turns, errors, write, written: () => written };
}

const checkpointerOptions = (path: string, errors: unknown[]) => ({
  path, intervalMs: 20, limitBytes: mebibyte, onError: (error: unknown) => errors.push(error), betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
});

describe('the WAL checkpointer', () => {
  it('keeps the WAL bounded while a writer commits every turn, and loses no row', async () => {
    const path = join(folder, 'covenant.db');
    const { database, turns, errors, write, written } = openWriter(path);
    const checkpointer = startCheckpointer({ ...checkpointerOptions(path, errors), writer: turns });
    const largestWal = await write(64 * mebibyte);
    await checkpointer.stop();
    const walBytesWritten = written() * 1000;
    // Without restarts the WAL holds at least every byte written (more: later commits rewrite the pages). With them it
    // holds what the writer adds between two checkpoints.
    expect(walBytesWritten).toBeGreaterThanOrEqual(64 * mebibyte);
    expect(largestWal).toBeLessThan(walBytesWritten / 5);
    expect(database.prepare('SELECT COUNT(*) FROM rows').pluck().get()).toBe(written());
    database.close();
    // The rows were checkpointed into the database file itself, not only kept in the WAL.
    expect(statSync(path).size).toBeGreaterThan(walBytesWritten / 2);
    expect(errors).toEqual([]);
  });

  it('holds the writer only now and then while a reader keeps an old snapshot, and starts the WAL over once it is done', async () => {
    const path = join(folder, 'covenant.db');
    const { database, turns, errors, write } = openWriter(path);
    let holds = 0;
    const writer = { hold: () => { holds += 1; turns.hold(); }, release: () => turns.release() };
    const checkpointer = startCheckpointer({ ...checkpointerOptions(path, errors), writer });
    // A reader in the middle of a long read (an export), on its own connection: nothing after its snapshot can be
    // checkpointed, so no hold can let the WAL start over.
    const reader = openDatabase(path);
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM rows').get();
    await write(2 * mebibyte);
    const started = Date.now();
    const pinnedWal = await write(24 * mebibyte);
    const checks = (Date.now() - started) / 20;
    // Without the back-off the writer would be held at about every check.
    expect(checks).toBeGreaterThan(20);
    expect(holds).toBeLessThan(checks / 3);
    reader.exec('COMMIT');
    reader.close();
    // The reader is gone: after at most one back-off the WAL starts over, and no longer grows with what is written
    // (while the reader was there it grew by every byte).
    const before = statSync(`${path}-wal`).size;
    const afterWal = await write(64 * mebibyte);
    await checkpointer.stop();
    expect(pinnedWal).toBeGreaterThan(24 * mebibyte);
    expect(afterWal - before).toBeLessThan(64 * mebibyte / 3);
    database.close();
    expect(errors).toEqual([]);
  });

  it('is released after the database closed without a failed commit (a shutdown while the writer was held)', async () => {
    const path = join(folder, 'covenant.db');
    const { database, turns, errors } = openWriter(path);
    turns.hold();
    let flushed = 0;
    turns.schedule(() => {
      flushed += 1;
    });
    database.close();
    turns.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(0);
    expect(errors).toEqual([]);
  });
});
