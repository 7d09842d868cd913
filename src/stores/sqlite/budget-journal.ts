// The budget journal: each change of budget counters appended, as the counters' new values, to a file beside the
// database before the change is acknowledged; the SQLite store folds it into the database now and then.
//
// Why: a reservation must be on disk before the provider is called, or a SIGKILL could under-count it. A SQLite
// commit for that costs an event-loop turn and far more time than one append to this file, which costs none. An
// append that returned is in the operating system's page cache, which survives the process being killed: the same
// promise SQLite's WAL with synchronous=NORMAL makes for the rest of the database.
//
// Format: one JSON array per line, `[inFlight, key, spent, reserved, key, spent, reserved, ...]`: the number of
// reservations in flight, then each changed counter's absolute amounts. Absolute values make replay idempotent:
// replaying lines the database already holds changes nothing, so a crash between folding and emptying is harmless.
//
// The file is emptied by overwriting its lines with zero bytes, not by truncating it, and lines are written at their
// offset: once the file has grown, an append changes no file size and allocates no block (a truncated file would be
// regrown at every fold, which costs more per request; bench/RESULTS.md). What follows the lines is zeros, so replay
// stops at the first zero byte.
import { closeSync, constants, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';

/** What replaying a journal yields: the last in-flight count, and each counter's last amounts. */
export interface JournalState {
  inFlight: number;
  counters: Map<string, { spent: number; reserved: number }>;
}

/** The journal file of a database file (beside it, like SQLite's own -wal and -shm). */
export function journalPathOf(databasePath: string): string {
  return `${databasePath}-budgets`;
}

/**
 * Replay a journal file; undefined when it is missing or empty. A last line cut short (the process died inside its
 * write) is ignored: its change was never acknowledged. A damaged line before the last is an error, since what
 * follows it cannot be trusted to be complete.
 */
export function readJournal(path: string): JournalState | undefined {
  if (!existsSync(path)) return undefined;
  const text = linesOf(readFileSync(path, 'utf8'));
  if (text.length === 0) return undefined;
  const lines = text.split('\n');
  // A complete journal ends with a newline: the last element is then '' and nothing was cut short.
  const last = lines.length - 1;
  const state: JournalState = { inFlight: 0, counters: new Map() };
  let applied = 0;
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    if (line.length === 0) continue;
    const values = parseLine(line);
    if (values === undefined) {
      if (index === last) break;
      throw new Error(`the budget journal ${path} is damaged at line ${index + 1}; it must not be edited`);
    }
    state.inFlight = values[0] as number;
    for (let at = 1; at < values.length; at += 3) {
      state.counters.set(values[at] as string, { spent: values[at + 1] as number, reserved: values[at + 2] as number });
    }
    applied += 1;
  }
  return applied === 0 ? undefined : state;
}

/** The journal's text up to the zeros that follow its lines (a file emptied and partly rewritten). */
function linesOf(text: string): string {
  const end = text.indexOf('\0');
  return end < 0 ? text : text.slice(0, end);
}

function parseLine(line: string): unknown[] | undefined {
  let values: unknown;
  try {
    values = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!Array.isArray(values) || values.length % 3 !== 1 || !Number.isSafeInteger(values[0])) return undefined;
  for (let at = 1; at < values.length; at += 3) {
    if (typeof values[at] !== 'string' || !Number.isSafeInteger(values[at + 1]) || !Number.isSafeInteger(values[at + 2])) return undefined;
  }
  return values;
}

/** Above this many bytes of lines, emptying the journal gives the space back (truncates) instead of zeroing it. */
const reuseLimit = 1024 * 1024;

/** An open journal: appends are synchronous (one write system call each). */
export class BudgetJournal {
  private readonly descriptor: number;
  /** Bytes of lines written since the journal was last emptied: the next line goes at this offset. */
  size = 0;
  /** Where the bytes that are not zeros end: lines of this cycle, or (at open) whatever the file held. */
  private used: number;

  constructor(readonly path: string) {
    this.descriptor = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    // A file left by an earlier run holds lines (replayed before this opens, then emptied by the store) or nothing.
    this.used = Buffer.byteLength(linesOf(readFileSync(path, 'utf8')));
    this.size = this.used;
  }

  /** Append one line (journalLine); throws when the write fails, so the change must be refused. */
  append(line: string): void {
    const written = writeSync(this.descriptor, line, this.size);
    // A short write (a full disk) leaves a line cut short, which replay ignores: the change was not made. The next line
    // is written over it; `used` covers it, so emptying zeroes what the next line does not.
    if (written !== Buffer.byteLength(line)) {
      this.used = Math.max(this.used, this.size + written);
      const error = new Error(`the budget journal ${this.path}: short write (${written} bytes): no space left on device`);
      (error as NodeJS.ErrnoException).code = 'ENOSPC';
      throw error;
    }
    this.size += written;
    if (this.size > this.used) this.used = this.size;
  }

  /** Empty the journal once the database holds everything in it. */
  empty(): void {
    if (this.used > reuseLimit) ftruncateSync(this.descriptor, 0);
    else if (this.used > 0) writeSync(this.descriptor, Buffer.alloc(this.used), 0, this.used, 0);
    this.used = 0;
    this.size = 0;
  }

  close(): void {
    closeSync(this.descriptor);
  }
}
