// The WAL checkpointer thread: under a writer that never pauses, the WAL stays bounded and every row reaches the database.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTestHold, startCheckpointer } from '../src/stores/sqlite/checkpointer.js';
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
  // commits stand for a busy turn's entries and its requests. Writes until `bytes` are written and `minimumMs` have
  // passed (so a phase spans enough of the checkpointer's ticks on a fast machine too), or until `until()` says so;
  // returns the largest the WAL file was meanwhile.
  const write = async (bytes: number, options: { minimumMs?: number; until?: () => boolean } = {}) => {
    let largestWal = 0;
    const started = performance.now();
    for (let done = 0; (done < bytes || performance.now() - started < (options.minimumMs ?? 0)) && !options.until?.(); done += 10_000) {
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

const intervalMs = 20;

/** The WAL header's checkpoint sequence number (big-endian at byte 12): SQLite adds one each time the WAL starts over. */
function walRestarts(path: string): number {
  const header = Buffer.alloc(16);
  const file = openSync(`${path}-wal`, 'r');
  try {
    readSync(file, header, 0, 16, 0);
  } finally {
    closeSync(file);
  }
  return header.readUInt32BE(12);
}

const checkpointerOptions = (path: string, errors: unknown[]) => ({
  path, intervalMs, limitBytes: mebibyte, onError: (error: unknown) => errors.push(error), betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
});

describe('the WAL checkpointer', () => {
  it('keeps the WAL bounded while a writer commits every turn, and loses no row', async () => {
    const path = join(folder, 'covenant.db');
    const { database, turns, errors, write, written } = openWriter(path);
    const checkpointer = startCheckpointer({ ...checkpointerOptions(path, errors), writer: turns });
    // Until the thread is up (its first restart of the WAL) the WAL grows by every byte; the file never shrinks, so
    // what is measured is how much it grows afterwards.
    await write(10_000);
    const first = walRestarts(path);
    await write(64 * mebibyte, { until: () => walRestarts(path) !== first });
    const restartsBefore = walRestarts(path);
    expect(restartsBefore).not.toBe(first);
    const walBefore = statSync(`${path}-wal`).size;
    const writtenBefore = written();
    const largestWal = await write(16 * mebibyte);
    const restarts = walRestarts(path) - restartsBefore;
    await checkpointer.stop();
    const bytesWritten = (written() - writtenBefore) * 1000;
    // Without restarts the WAL would grow by at least every byte written (more: later commits rewrite the pages). With
    // them it holds what the writer adds between two checkpoints, a little over the 1 MiB limit, in space it already has.
    expect(bytesWritten).toBeGreaterThanOrEqual(16 * mebibyte);
    expect(restarts).toBeGreaterThanOrEqual(4);
    expect(largestWal - walBefore).toBeLessThan(bytesWritten / 4);
    expect(database.prepare('SELECT COUNT(*) FROM rows').pluck().get()).toBe(written());
    database.close();
    // The rows were checkpointed into the database file itself, not only kept in the WAL.
    expect(statSync(path).size).toBeGreaterThan(written() * 1000 / 2);
    expect(errors).toEqual([]);
  });

  it('holds the writer only now and then while a reader keeps an old snapshot, and starts the WAL over once it is done', async () => {
    const path = join(folder, 'covenant.db');
    const { database, turns, errors, write, written } = openWriter(path);
    let holds = 0;
    const writer = { hold: () => { holds += 1; turns.hold(); }, release: () => turns.release() };
    const checkpointer = startCheckpointer({ ...checkpointerOptions(path, errors), writer });
    // A reader in the middle of a long read (an export), on its own connection: nothing after its snapshot can be
    // checkpointed, so no hold can let the WAL start over.
    const reader = openDatabase(path);
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM rows').get();
    await write(2 * mebibyte);
    const pinnedRestarts = walRestarts(path);
    const started = performance.now();
    const writtenBefore = written();
    const pinnedWal = await write(4 * mebibyte, { minimumMs: 40 * intervalMs });
    const pinnedBytes = (written() - writtenBefore) * 1000;
    const checks = (performance.now() - started) / intervalMs;
    // Without the back-off the writer would be held at about every check (checks >= 40 by construction).
    expect(holds).toBeLessThan(checks / 3);
    expect(walRestarts(path)).toBe(pinnedRestarts);
    expect(pinnedWal).toBeGreaterThan(pinnedBytes);
    reader.exec('COMMIT');
    reader.close();
    // The reader is gone: after at most one back-off (8 checks) the WAL starts over, and from then on it stops growing
    // with what is written (while the reader was there it grew by every byte).
    await write(64 * mebibyte, { until: () => walRestarts(path) !== pinnedRestarts });
    expect(walRestarts(path)).not.toBe(pinnedRestarts);
    const restarted = statSync(`${path}-wal`).size;
    const afterWal = await write(8 * mebibyte);
    await checkpointer.stop();
    expect(afterWal - restarted).toBeLessThan(8 * mebibyte / 4);
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

describe('the checkpointer test switch (COVENANT_TEST_WAL_HOLD)', () => {
  it('changes nothing unset, reads its three settings, and refuses anything else by name', () => {
    expect(parseTestHold(undefined)).toBeUndefined();
    expect(parseTestHold('')).toBeUndefined();
    expect(parseTestHold('limit_bytes=32768,hold_ms=1200,file=/tmp/hold')).toEqual({ limitBytes: 32768, holdMs: 1200, file: '/tmp/hold' });
    for (const bad of ['limit_bytes=0', 'hold_ms=-1', 'hold_ms=1.5', 'file=', 'limit=5', 'hold_ms']) {
      expect(() => parseTestHold(bad), bad).toThrow(/COVENANT_TEST_WAL_HOLD/);
    }
  });
});

describe('a checkpointer whose thread failed', () => {
  it('reports why, and stopping it returns (a gateway closing is not held up by it)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'covenant-checkpointer-failed-'));
    try {
      const errors: string[] = [];
      // No such folder: the thread cannot open its database and exits.
      const checkpointer = startCheckpointer({
        path: join(folder, 'missing', 'covenant.db'), onError: (error) => errors.push((error as Error).message),
        betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
      });
      await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(errors[0]).toMatch(/Cannot open database/);
      // The exit is seen on the next turn after the error.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await checkpointer.stop();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
