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
// The journal is two files used in turn. A fold starts the other file with one line holding every counter changed
// since the last fold the database committed (so that file alone, with the database, holds every acknowledged change)
// and only then zeroes the file before it; the fold itself is written later, beside the event loop. Each file starts
// with a header line `{"generation":N}`, so that replay, after a crash between those two steps, reads the older first.
//
// A file is emptied by overwriting its lines with zero bytes, not by truncating it, and lines are written at their
// offset: once the file has grown, an append changes no file size and allocates no block (a truncated file would be
// regrown at every fold, which costs more per request; bench/RESULTS.md). What follows the lines is zeros, so replay
// stops at the first zero byte.
import { closeSync, constants, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';

/** What replaying a journal yields: the last in-flight count, and each counter's last amounts. */
export interface JournalState {
  inFlight: number;
  counters: Map<string, { spent: number; reserved: number }>;
}

/** The journal file of a database file (beside it, like SQLite's own -wal and -shm); its partner is alternatePathOf. */
export function journalPathOf(databasePath: string): string {
  return `${databasePath}-budgets`;
}

/** The second file of a journal, used in turn with the first. */
export function alternatePathOf(journalPath: string): string {
  return `${journalPath}-2`;
}

/**
 * Replay a journal (the file at `path` and its partner, the older first); undefined when both are missing or empty.
 * A last line cut short (the process died inside its write) is ignored: its change was never acknowledged. A damaged
 * line before the last is an error, since what follows it cannot be trusted to be complete.
 */
export function readJournal(path: string): JournalState | undefined {
  const files = [path, alternatePathOf(path)].map(readFile).filter((file) => file !== undefined);
  files.sort((first, second) => first.generation - second.generation);
  const state: JournalState = { inFlight: 0, counters: new Map() };
  let applied = 0;
  for (const file of files) {
    for (const values of file.lines) {
      state.inFlight = values[0] as number;
      for (let at = 1; at < values.length; at += 3) {
        state.counters.set(values[at] as string, { spent: values[at + 1] as number, reserved: values[at + 2] as number });
      }
      applied += 1;
    }
  }
  return applied === 0 ? undefined : state;
}

/** One file's generation (-1 without a header: a journal from before there were two) and its lines. */
function readFile(path: string): { generation: number; lines: unknown[][] } | undefined {
  if (!existsSync(path)) return undefined;
  const text = linesOf(readFileSync(path, 'utf8'));
  if (text.length === 0) return undefined;
  const lines = text.split('\n');
  // A complete journal ends with a newline: the last element is then '' and nothing was cut short.
  const last = lines.length - 1;
  const file = { generation: -1, lines: [] as unknown[][] };
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    if (line.length === 0) continue;
    if (index === 0 && line.startsWith('{')) {
      const generation = parseHeader(line);
      if (generation !== undefined) {
        file.generation = generation;
        continue;
      }
    }
    const values = parseLine(line);
    if (values === undefined) {
      if (index === last) break;
      throw new Error(`the budget journal ${path} is damaged at line ${index + 1}; it must not be edited`);
    }
    file.lines.push(values);
  }
  return file;
}

/** The journal's text up to the zeros that follow its lines (a file emptied and partly rewritten). */
function linesOf(text: string): string {
  const end = text.indexOf('\0');
  return end < 0 ? text : text.slice(0, end);
}

function parseHeader(line: string): number | undefined {
  try {
    const header = JSON.parse(line) as { generation?: unknown };
    return Number.isSafeInteger(header.generation) ? header.generation as number : undefined;
  } catch {
    return undefined;
  }
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

/** Above this many bytes of lines, emptying a file gives the space back (truncates) instead of zeroing it. */
const reuseLimit = 8 * 1024 * 1024;

/** One file of the journal: lines are written at `size`; `used` is where its bytes that are not zeros end. */
class JournalFile {
  readonly descriptor: number;
  size = 0;
  used: number;

  constructor(readonly path: string) {
    this.descriptor = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    // A file left by an earlier run holds lines (replayed before this opens, then emptied by the store) or nothing.
    this.used = Buffer.byteLength(linesOf(readFileSync(path, 'utf8')));
    this.size = this.used;
  }

  /** Write `text` at `at`; throws on a short write (a full disk), whose bytes `used` then covers. */
  write(text: string, at: number): void {
    const written = writeSync(this.descriptor, text, at);
    if (written !== Buffer.byteLength(text)) {
      this.used = Math.max(this.used, at + written);
      const error = new Error(`the budget journal ${this.path}: short write (${written} bytes): no space left on device`);
      (error as NodeJS.ErrnoException).code = 'ENOSPC';
      throw error;
    }
    this.size = at + written;
    if (this.size > this.used) this.used = this.size;
  }

  empty(): void {
    if (this.used > reuseLimit) ftruncateSync(this.descriptor, 0);
    else if (this.used > 0) writeSync(this.descriptor, Buffer.alloc(this.used), 0, this.used, 0);
    this.used = 0;
    this.size = 0;
  }
}

/** An open journal (both files): appends are synchronous (one write system call each). */
export class BudgetJournal {
  private readonly files: [JournalFile, JournalFile];
  /** The file lines go to. */
  private current = 0;
  /** The last header written: the next file started gets the one after it. */
  private generation = 0;

  constructor(readonly path: string) {
    this.files = [new JournalFile(path), new JournalFile(alternatePathOf(path))];
  }

  /** Bytes in the file lines go to. */
  get size(): number {
    return this.files[this.current].size;
  }

  /** Whether either file holds anything (lines, or bytes of a line cut short). */
  get used(): boolean {
    return this.files[0].used > 0 || this.files[1].used > 0;
  }

  /** Append one line; throws when the write fails, so the change must be refused. */
  append(line: string): void {
    const file = this.files[this.current];
    // A short write leaves a line cut short, which replay ignores: the change was not made. The next line is written
    // over it; `used` covers it, so emptying zeroes what the next line does not.
    if (file.size === 0) file.write(`${this.header()}${line}`, 0);
    else file.write(line, file.size);
  }

  /**
   * Start the other file with `line` (every change the database may lack), then zero this one. Throws when the line
   * cannot be written: lines then keep going to this file, which still holds everything.
   */
  restart(line: string): void {
    const next = this.files[1 - this.current];
    next.write(`${this.header()}${line}`, 0);
    // Lines go to the new file before the old one is zeroed: should zeroing fail, replay still reads the old one first.
    const previous = this.files[this.current];
    this.current = 1 - this.current;
    previous.empty();
  }

  /** Empty the journal once the database holds everything in it. */
  empty(): void {
    for (const file of this.files) file.empty();
  }

  close(): void {
    for (const file of this.files) closeSync(file.descriptor);
  }

  private header(): string {
    this.generation += 1;
    return `{"generation":${this.generation}}\n`;
  }
}
