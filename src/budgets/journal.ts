// The budget journal: each change of budget counters appended, as the counters' new values, to a file beside the
// database before the change is acknowledged; the SQLite store folds it into the database now and then.
//
// Why: a reservation must be on disk before the provider is called, or a SIGKILL could under-count it. A SQLite
// commit for that costs about 20 µs and an event-loop turn; one append to this file costs about 1 µs and none. An
// append that returned is in the operating system's page cache, which survives the process being killed: the same
// promise SQLite's WAL with synchronous=NORMAL makes for the rest of the database.
//
// Format: one JSON array per line, `[inFlight, key, spent, reserved, key, spent, reserved, ...]`: the number of
// reservations in flight, then each changed counter's absolute amounts. Absolute values make replay idempotent:
// replaying lines the database already holds changes nothing, so a crash between folding and truncating is harmless.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';

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
  const text = readFileSync(path, 'utf8');
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

/** An open journal: appends are synchronous (one write system call each). */
export class BudgetJournal {
  private readonly descriptor: number;
  /** Characters appended since the last truncation (bytes for the ASCII keys of every counter but a user's). */
  size = 0;

  constructor(readonly path: string) {
    this.descriptor = openSync(path, 'a');
  }

  /** Append one line (journalLine); throws when the write fails, so the change must be refused. */
  append(line: string): void {
    writeSync(this.descriptor, line);
    this.size += line.length;
  }

  /** Empty the journal once the database holds everything in it. */
  truncate(): void {
    ftruncateSync(this.descriptor, 0);
    this.size = 0;
  }

  close(): void {
    closeSync(this.descriptor);
  }
}
