// The embedded budget store: counters checked in memory, each turn's changes journaled (a reservation's before it
// is acknowledged), and the journal folded into SQLite a few times a second.
//
// Why: a reservation must be durable before the provider is called, and a SQLite commit per change costs time
// and an event-loop turn each (two per request); under load that, not the check, set the pace. Here every operation
// is decided synchronously against in-memory counters (so it is atomic within the process), and at the end of the
// turn the counters it changed are appended, as their new amounts, to the budget journal (budget-journal.ts: one write
// system call for all of the turn's operations). A reservation resolves only after that write, so it is on disk
// before the provider is called. A settle or release resolves at once: until its line is written, a SIGKILL leaves
// its amount in the counter's `reserved`, which recovery counts at its worst case (more than the bill, never less).
// At open, whatever the journal holds is folded into the database first.
//
// A fold runs beside the event loop (budget-fold-thread.ts: a worker thread with its own connection). It first starts
// a new journal file with every counter changed since the last fold the database committed, so that file and the
// database hold every acknowledged change whatever the thread has written (budget-journal.ts); the counters stay in
// memory until the thread commits, so a read from the database never misses a change. The counters have a database
// file of their own (budget-database.ts), so the thread writing them never holds up another store's commit.
// The counters a reservation needs that memory lacks are gathered over the turn: a few are read on the event loop (one
// indexed read each), a turn's burst of them by the same thread (one message for all); the cache keeps the most
// recently used counters, evicted from the least recently used end.
//
// Crash recovery needs no row per reservation. One process owns the database (stores/sqlite/owner-lock.ts), so
// whatever `reserved` the counters hold on disk when the store opens belongs to a run that died: those amounts
// are the orphans, and recoverOrphans moves them into spent. The number of in-flight reservations is journaled
// with every change and kept in one more row, so recovery can say how many it converted.
// Reservations themselves live only in memory.
//
// One process owns a database file's budget tables (replicas share Redis instead: stores/redis).
import { createRequire } from 'node:module';
import { parseCounterKey } from '../../core/budget-math.js';
import { windowEndedBefore } from '../../core/periods.js';
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import { BudgetJournal, journalPathOf, readJournal } from './budget-journal.js';
import { startFoldThread } from './budget-fold-thread.js';
import { startCheckpointer } from './checkpointer.js';
import type {
  BudgetStore, CounterRecord, CounterState, CounterValues, Reservation, ReservationItem, ReserveResult, SettleResult, SpendFilter,
} from '../../budgets/store.js';

/**
 * The row of budget_counters that holds, in `reserved`, how many reservations are in flight (not a budget: no
 * '|' in its key, so it can never be a counter key, and spend() leaves it out).
 */
export const inFlightCountKey = 'in-flight reservations';

export const budgetMigrations: readonly Migration[] = [
  {
    id: 'budgets-001-counters',
    sql: `
      CREATE TABLE budget_counters (
        counter_key TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        window_key TEXT NOT NULL,
        spent INTEGER NOT NULL DEFAULT 0,
        reserved INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE INDEX budget_counters_scope ON budget_counters (scope);
      CREATE TABLE budget_reservations (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        items TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    // Reservations move to memory. A database from before keeps its crashed run's reservations in the counters'
    // `reserved` (written in the same commits as these rows), so only their number has to be carried over.
    id: 'budgets-002-in-flight-count',
    sql: `
      INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved)
        SELECT '${inFlightCountKey}', '', 'count', 'total', 'total', 0, COUNT(*) FROM budget_reservations;
      DROP TABLE budget_reservations;
    `,
  },
  {
    // The spend report lists the users of the current windows only: one range of this index per window, however many
    // past windows the table holds (counter updates never touch these columns, so the index costs nothing per request).
    id: 'budgets-003-window-scope-index',
    sql: 'CREATE INDEX budget_counters_window_scope ON budget_counters (window_key, scope);',
  },
  {
    // Every spend report names its windows, so the (window_key, scope) index serves it; the scope index only cost
    // each new counter row (every end user's first request) one more B-tree page written to the WAL and at checkpoint.
    id: 'budgets-004-drop-scope-index',
    sql: 'DROP INDEX IF EXISTS budget_counters_scope;',
  },
];

interface Held { createdAt: number; items: readonly ReservationItem[] }
interface Counter {
  spent: number;
  reserved: number;
  /** The key as JSON text, for journal lines. */
  json: string;
  /** Whether the database has its row: a fold then updates it in place (no key parsing, no index entries to write). */
  stored: boolean;
  /**
   * When it was last used (the store's clock, ms), to within refreshMs: it then moved to the end of the cache's order,
   * so the cache's first entries are the least recently used. Counters idle past `idleMs` leave memory (they reload on use).
   */
  usedAt: number;
}
interface CounterRow { counter_key: string; scope: string; unit: CounterRecord['unit']; period: CounterRecord['period']; window_key: string; spent: number; reserved: number }

/** Counters kept in memory at most, by default: past it the least recently used leave (they reload on use). */
const defaultCacheLimit = 100_000;
/** Counters unused this long leave memory by default (a returning end user's reload from the database on use). */
const defaultIdleMs = 60_000;
/** Pages of the connection's cache (negative: KiB): holds the counters' B-tree interior pages, so a row read or written is one leaf page away. */
const cacheKibibytes = 32 * 1024;
/**
 * The journal is folded into the database this often while counters change, and whenever it grows past foldSize. The
 * journal holds every change meanwhile, so a longer interval only lengthens replay at start (at most foldSize) and
 * keeps changed counters in memory longer, while a counter changed many times is written once.
 */
const defaultFoldIntervalMs = 1000;
/** A counter used again moves to the end of the cache's order at most this often (a move costs a delete and an insert). */
const refreshMs = 1000;
const foldSize = 4 * 1024 * 1024;
/**
 * A turn's misses up to this many counters are read on the event loop: a few indexed reads there cost it about what
 * handing them to the fold thread does (a message each way and a wake-up), and the process far less; more go to the
 * thread, so a burst of misses neither stalls the event loop nor costs it a read per counter.
 */
const readHereLimit = 16;
/** A journal line that failed (a full disk) is tried again this often until one is written. */
const lineRetryMs = 250;

export interface SqliteBudgetStoreOptions {
  /** How often changed counters are folded from the journal into the database (default a second). */
  foldIntervalMs?: number;
  /** A fold that failed; it is retried, and the journal keeps every change meanwhile. */
  onError?: (error: unknown) => void;
  /**
   * Each journal write's outcome: undefined, or why it failed (a full disk). While it fails, reservations are refused
   * and other changes wait in memory; the line is retried, and serving resumes once one is written.
   */
  onJournal?: (failure: unknown) => void;
  /** Counters kept in memory at most (default 100,000); the database holds every one. */
  cacheLimit?: number;
  /** Counters unused this long leave memory (default a minute, as rate-limit windows): idle end users cost no memory. */
  idleMs?: number;
  /** Milliseconds for idleMs (default Date.now). */
  clock?: () => number;
  /** The journal's path (default beside the database: journalPathOf(database.name)). */
  journalPath?: string;
}

/** What the store holds in memory, for the gateway's gauges and tests. */
export interface BudgetStoreMemory {
  /** Counters cached in memory now. */
  readonly cachedCounters: number;
}

/**
 * A BudgetStore on an open database (openDatabase from stores/sqlite). Applies its migrations. The calling process
 * must own the database: every amount reserved on disk at open is taken for a crashed run's (see recoverOrphans).
 * A file database gets a journal beside it (budget-journal.ts): every change is appended there before it is acknowledged,
 * and folded into the database every `foldIntervalMs`, on spend() and on close(). An in-memory database has none.
 */
export function createSqliteBudgetStore(database: SqliteDatabase, options: SqliteBudgetStoreOptions = {}): BudgetStore & BudgetStoreMemory {
  migrate(database, budgetMigrations);
  // Per-user counters are many and scattered: without the interior pages cached, every fold re-reads them.
  if (!database.memory && -Number(database.pragma('cache_size', { simple: true })) < cacheKibibytes) database.pragma(`cache_size = -${cacheKibibytes}`);
  const cacheLimit = options.cacheLimit ?? defaultCacheLimit;
  const idleMs = options.idleMs ?? defaultIdleMs;
  const clock = options.clock ?? Date.now;
  const selectCounter = database.prepare<[string], { spent: number; reserved: number }>('SELECT spent, reserved FROM budget_counters WHERE counter_key = ?');
  const insertCounter = database.prepare<[string, string, string, string, string, number, number]>(
    `INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (counter_key) DO UPDATE SET spent = excluded.spent, reserved = excluded.reserved`);
  const writeInFlight = database.prepare<[number]>(
    `INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved) VALUES ('${inFlightCountKey}', '', 'count', 'total', 'total', 0, ?)
     ON CONFLICT (counter_key) DO UPDATE SET reserved = excluded.reserved`);
  const updateCounter = database.prepare<[number, number, string]>('UPDATE budget_counters SET spent = ?, reserved = ? WHERE counter_key = ?');
  const deleteCounter = database.prepare<[string]>('DELETE FROM budget_counters WHERE counter_key = ?');
  const deleteCounters = database.transaction((work: () => void) => work());
  const upsert = (key: string, spent: number, reserved: number) => {
    const parts = parseCounterKey(key);
    insertCounter.run(key, parts.scope, parts.unit, parts.period, parts.windowKey, spent, reserved);
  };

  // A crashed run's changes that its journal holds and the database does not yet: fold them in first.
  const journalPath = database.memory ? undefined : (options.journalPath ?? journalPathOf(database.name));
  const replayed = journalPath === undefined ? undefined : readJournal(journalPath);
  if (replayed) {
    database.transaction(() => {
      for (const [key, value] of replayed.counters) upsert(key, value.spent, value.reserved);
      writeInFlight.run(replayed.inFlight);
    }).immediate();
  }
  const journal = journalPath === undefined ? undefined : new BudgetJournal(journalPath);
  // Replayed lines are in the database now; what else a journal held (a last line cut short) was never acknowledged.
  if (journal?.used) journal.empty();

  // What a crashed run left: the reserved amount of every counter, and how many reservations they add up to.
  const orphans = new Map<string, number>();
  for (const row of database.prepare<[string], { counter_key: string; reserved: number }>(
    'SELECT counter_key, reserved FROM budget_counters WHERE reserved > 0 AND counter_key <> ?').all(inFlightCountKey)) {
    orphans.set(row.counter_key, row.reserved);
  }
  let orphanCount = selectCounter.get(inFlightCountKey)?.reserved ?? 0;

  const counters = new Map<string, Counter>();
  /** This process's unsettled reservations. */
  const held = new Map<string, Held>();
  /** Reservations in flight as the disk should count them: this process's plus the crashed run's not yet recovered. */
  let inFlight = orphanCount;
  /** The count in the database: written only when a fold changes it. */
  let storedInFlight = orphanCount;

  /** Counters changed since the last fold started. */
  let dirty = new Set<string>();
  /** Counters the fold under way writes: with `dirty`, those the database may lack, so they stay in memory. */
  let folding = new Set<string>();
  /** Why the last journal line could not be written; undefined once one is. */
  let failure: unknown;
  /** Retries the journal line that failed when no operation writes one first. */
  let lineRetry: NodeJS.Timeout | undefined;

  /** The clock as the current operation read it: once per operation, not once per counter. */
  let now = clock();
  const counter = (key: string): Counter => {
    let found = counters.get(key);
    if (!found) {
      const row = selectCounter.get(key);
      found = { spent: row?.spent ?? 0, reserved: row?.reserved ?? 0, json: JSON.stringify(key), stored: row !== undefined, usedAt: now };
      counters.set(key, found);
    } else if (now - found.usedAt >= refreshMs) {
      counters.delete(key);
      counters.set(key, found);
      found.usedAt = now;
    }
    return found;
  };
  const state = (key: string): CounterState => {
    const value = counter(key);
    return { counterKey: key, spent: value.spent, reserved: value.reserved };
  };

  /** Counters changed since the last journal line, and the promise of the line that will hold them. */
  const pending = new Set<string>();
  let batch: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;

  const changed = (key: string) => {
    pending.add(key);
    dirty.add(key);
  };

  /**
   * Make this turn's changes durable: one journal line with the changed counters' new amounts (a file database;
   * one write for every operation of the turn), then a fold later. Runs at the end of the turn (setImmediate: right
   * after the I/O that started the operations).
   *
   * A line that cannot be written (a full disk) fails the reservations waiting on it (their callers undo them and
   * refuse the request) and keeps its counters pending: lines hold absolute amounts, so the next line written carries
   * every change this one missed. Until then the disk holds the older amounts, where a settle not yet written still
   * counts at its reservation's worst case: never an under-count.
   */
  const writeLine = () => {
    const current = batch;
    batch = undefined;
    if (pending.size === 0 && current === undefined) return;
    let line = `[${inFlight}`;
    for (const key of pending) {
      const value = counters.get(key) as Counter;
      line += `,${value.json},${value.spent},${value.reserved}`;
    }
    line += ']\n';
    if (journal) {
      try {
        journal.append(line);
      } catch (error) {
        failure = error;
        options.onJournal?.(error);
        current?.reject(error);
        lineRetry ??= setTimeout(() => {
          lineRetry = undefined;
          writeLine();
        }, lineRetryMs);
        lineRetry.unref();
        return;
      }
      if (failure !== undefined) {
        failure = undefined;
        options.onJournal?.(undefined);
      }
      linesSinceFold += 1;
      if (journal.size > foldSize) foldSoon();
    }
    pending.clear();
    armFold();
    current?.resolve();
  };

  /** Write this turn's changes at its end (setImmediate: right after the I/O that started the operations). */
  let lineDue = false;
  const lineAtEndOfTurn = () => {
    lineDue = false;
    writeLine();
  };
  const scheduleLine = () => {
    if (lineDue) return;
    lineDue = true;
    setImmediate(lineAtEndOfTurn);
  };

  /** Resolves once the changes made so far are in the journal. */
  const journaled = (): Promise<void> => {
    if (!batch) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((resolveBatch, rejectBatch) => { resolve = resolveBatch; reject = rejectBatch; });
      batch = { promise, resolve, reject };
    }
    scheduleLine();
    return batch.promise;
  };

  /** Lines written since the fold under way (or the last one) started its journal file. */
  let linesSinceFold = 0;
  /** The fold under way, if any: it resolves once the database holds its counters. */
  let running: Promise<void> | undefined;
  const thread = journal === undefined ? undefined : startFoldThread({ path: database.name, inFlightKey: inFlightCountKey, cacheKibibytes });
  // Checkpoints (their fsyncs) in a thread of their own, so the fold thread answers reads while one runs: between
  // folds nothing writes, so its passes copy the whole WAL and SQLite starts it over.
  const checkpointer = thread === undefined ? undefined : startCheckpointer({
    path: database.name, onError: (error) => options.onError?.(error), betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
  });
  if (checkpointer !== undefined) database.pragma('wal_autocheckpoint = 0');

  /** An in-memory database (no journal, no thread): its fold is written here, at once. */
  const foldHere = database.transaction((keys: readonly string[]) => {
    for (const key of keys) {
      const value = counters.get(key) as Counter;
      if (value.stored && updateCounter.run(value.spent, value.reserved, key).changes > 0) continue;
      upsert(key, value.spent, value.reserved);
      value.stored = true;
    }
    if (inFlight !== storedInFlight) writeInFlight.run(inFlight);
  });

  /**
   * Write the counters changed since the last fold into the database. A file database: first start a journal file
   * with all of them (it alone, with the database, then holds every acknowledged change; a crash during the fold
   * replays it), then hand them to the fold thread; they stay in memory until it commits. A failed fold leaves them
   * changed, for the next one. Resolves once the database holds them; undefined when nothing changed.
   */
  const startFold = (): Promise<void> | undefined => {
    if (running !== undefined || (dirty.size === 0 && inFlight === storedInFlight)) return running;
    const keys = dirty;
    const writtenInFlight = inFlight;
    if (thread === undefined || journal === undefined) {
      foldHere([...keys].sort());
      dirty = new Set();
      storedInFlight = writtenInFlight;
      evict();
      return undefined;
    }
    let line = `[${writtenInFlight}`;
    const fresh: string[] = [];
    for (const key of keys) {
      const value = counters.get(key) as Counter;
      line += `,${value.json},${value.spent},${value.reserved}`;
      if (value.stored) continue;
      const parts = parseCounterKey(key);
      fresh.push(key, parts.scope, parts.unit, parts.period, parts.windowKey);
    }
    line += ']\n';
    journal.restart(line);
    linesSinceFold = 0;
    dirty = new Set();
    folding = keys;
    const fold = thread.write(line, fresh, writtenInFlight !== storedInFlight).then((missing) => {
      for (const key of keys) (counters.get(key) as Counter).stored = true;
      // Rows deleted behind the store's back: written again, whole, by the next fold.
      for (const key of missing) {
        (counters.get(key) as Counter).stored = false;
        dirty.add(key);
      }
      storedInFlight = writtenInFlight;
      // Nothing changed since the fold started: the database holds everything the journal does.
      if (linesSinceFold === 0 && dirty.size === 0 && inFlight === storedInFlight) journal.empty();
    }, (error: unknown) => {
      for (const key of keys) dirty.add(key);
      throw error;
    }).finally(() => {
      folding = new Set();
      running = undefined;
      evict();
      if (dirty.size > 0 || inFlight !== storedInFlight) armFold();
    });
    running = fold;
    return fold;
  };

  /** Fold everything changed so far (the fold under way first); throws when the fold fails. */
  const settled = async () => {
    writeLine();
    await running?.catch(() => undefined);
    await startFold();
  };

  /** Whether a counter must stay in memory: the database may lack it, or a journal line must still carry it. */
  const pinned = (key: string) => dirty.has(key) || folding.has(key) || pending.has(key) || orphans.has(key);
  /**
   * Forget the least recently used counters while more than cacheLimit are cached, and those idle past idleMs; never
   * those pinned. From the start of the cache's order, so the cost is what leaves, not what stays.
   */
  const evict = () => {
    const idleBefore = clock() - idleMs;
    for (const [key, value] of counters) {
      if (counters.size <= cacheLimit && value.usedAt >= idleBefore) break;
      if (!pinned(key)) counters.delete(key);
    }
  };
  /** Idle counters leave memory even when nothing changes (no fold runs then). */
  const sweeper = setInterval(evict, Math.max(1000, Math.min(60_000, idleMs / 4)));
  sweeper.unref();
  let timer: NodeJS.Timeout | undefined;
  const foldNow = () => {
    timer = undefined;
    try {
      startFold()?.catch((error: unknown) => options.onError?.(error));
    } catch (error) {
      // The journal file could not be started (a full disk): the current one still holds everything.
      options.onError?.(error);
      armFold();
    }
  };
  const armFold = () => {
    if (timer !== undefined) return;
    timer = setTimeout(foldNow, options.foldIntervalMs ?? defaultFoldIntervalMs);
    timer.unref();
  };
  const foldSoon = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(foldNow, 0);
    timer.unref();
  };

  /** A reservation whose journal line failed: undone in memory (its undoing is journaled with the next line). */
  const journaledOrUndone = async (id: string): Promise<void> => {
    try {
      await journaled();
    } catch (error) {
      if (end(id, () => 0)) scheduleLine();
      throw error;
    }
  };

  /** Reserve every item, or nothing when one would pass its limit (then returns that item's index). */
  const apply = (id: string, createdAt: number, items: readonly ReservationItem[]): number => {
    if (held.has(id)) throw new Error(`Reservation id "${id}" is already in use`);
    for (let index = 0; index < items.length; index += 1) {
      const item = items[index];
      const value = counter(item.counterKey);
      if (value.spent + value.reserved + item.amount > item.limit) return index;
    }
    for (const item of items) {
      counter(item.counterKey).reserved += item.amount;
      changed(item.counterKey);
    }
    held.set(id, { createdAt, items });
    inFlight += 1;
    return -1;
  };

  /** End a reservation in memory (the caller awaits the journal); undefined when it is not held. */
  const end = (id: string, spendOf: (index: number, amount: number) => number): Held | undefined => {
    const reservation = held.get(id);
    if (!reservation) return undefined;
    held.delete(id);
    inFlight -= 1;
    for (let index = 0; index < reservation.items.length; index += 1) {
      const item = reservation.items[index];
      const value = counter(item.counterKey);
      value.reserved = Math.max(0, value.reserved - item.amount);
      value.spent += Math.max(0, Math.ceil(spendOf(index, item.amount)));
      changed(item.counterKey);
    }
    return reservation;
  };

  // A settle or release is not waited for: its line goes out at the end of the turn with the others. Until then a
  // crash keeps the reservation at its worst case in the journal, which recovery counts: never an under-count.
  const finish = async (id: string, spendOf: (index: number, amount: number) => number): Promise<SettleResult> => {
    now = clock();
    const reservation = end(id, spendOf);
    if (!reservation) return { applied: false, counters: [] };
    scheduleLine();
    return { applied: true, counters: reservation.items.map((item) => state(item.counterKey)) };
  };

  const worstCase = (_index: number, amount: number) => amount;

  /**
   * Counters reservations need that memory lacks, for the next read at the end of the turn: on the event loop when
   * they are few, else by the fold thread. One thread read is asked at a time: what is wanted meanwhile goes with the
   * next, asked when it is answered, so under load one wake-up of the thread serves many requests.
   */
  let wanted: string[] = [];
  /** The next read's promise (it resolves once that read is answered), and whether a read is being answered now. */
  let next: { promise: Promise<void>; resolve: () => void } | undefined;
  let asking = false;
  /** Prunes so far: an answer asked for before a prune may hold a row it deleted, so it is dropped. */
  let prunes = 0;
  const ask = () => {
    const keys = wanted;
    const batch = next as NonNullable<typeof next>;
    const asked = prunes;
    wanted = [];
    next = undefined;
    if (keys.length <= readHereLimit) {
      now = clock();
      try {
        for (const key of keys) counter(key);
      } catch {
        // Left to each reservation's own read (counter()), which fails its request alone.
      }
      batch.resolve();
      return;
    }
    asking = true;
    (thread as NonNullable<typeof thread>).read(keys).then((values) => {
      if (asked !== prunes) return;
      const time = clock();
      for (let index = 0; index < keys.length; index += 1) {
        const key = keys[index];
        // Memory is ahead of any answer: a counter read or changed meanwhile keeps its amounts. One not in memory has
        // none the database lacks, as counters leave memory only once a fold has stored them.
        if (counters.has(key)) continue;
        const at = index * 3;
        counters.set(key, { spent: values[at], reserved: values[at + 1], json: JSON.stringify(key), stored: values[at + 2] === 1, usedAt: time });
      }
    }).catch(() => undefined).finally(() => {
      asking = false;
      batch.resolve();
      if (next !== undefined) ask();
    });
  };
  /**
   * Have the counters of `keys` in memory before a reservation decides on them: the ones missing are read at the end
   * of the turn with the others' (a failed thread read leaves them to counter(), which reads them at once). Undefined
   * when none is missing, or the database is in memory.
   */
  const preload = (keys: readonly string[]): Promise<void> | undefined => {
    if (thread === undefined) return undefined;
    const before = wanted.length;
    for (const key of keys) if (!counters.has(key)) wanted.push(key);
    if (wanted.length === before) return undefined;
    if (next === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((resolveRead) => { resolve = resolveRead; });
      next = { promise, resolve };
      // This turn's other requests join it; while a read is answered, its end asks this one.
      if (!asking) setImmediate(ask);
    }
    return next.promise;
  };

  return {
    get cachedCounters() {
      return counters.size;
    },
    async read(counterKeys) {
      now = clock();
      const found = new Map<string, CounterState>();
      for (const key of counterKeys) {
        const value = counter(key);
        if (value.spent !== 0 || value.reserved !== 0) found.set(key, { counterKey: key, spent: value.spent, reserved: value.reserved });
      }
      return found;
    },
    async tryReserve(reservation: Reservation): Promise<ReserveResult> {
      const loaded = preload(reservation.items.map((item) => item.counterKey));
      if (loaded !== undefined) await loaded;
      now = clock();
      const refused = apply(reservation.id, reservation.createdAt, reservation.items);
      if (refused >= 0) {
        return { ok: false, counterKey: reservation.items[refused].counterKey, counters: reservation.items.map((each) => state(each.counterKey)) };
      }
      await journaledOrUndone(reservation.id);
      return { ok: true };
    },
    async decideAndReserve(id, createdAt, counterKeys, decide) {
      const loaded = preload(counterKeys);
      if (loaded !== undefined) await loaded;
      now = clock();
      const values: CounterValues[] = new Array(counterKeys.length);
      for (let index = 0; index < counterKeys.length; index += 1) values[index] = counter(counterKeys[index]);
      const items = decide(values);
      if (items === undefined || apply(id, createdAt, items) >= 0) return false;
      await journaledOrUndone(id);
      return true;
    },
    settle(id, actual) {
      return finish(id, (index, amount) => actual[index] ?? amount);
    },
    release(id) {
      return finish(id, () => 0);
    },
    async recoverOrphans(createdBefore) {
      // A crashed run's reservations can never be settled, whatever their age: all of them count at once.
      let recovered = orphanCount;
      for (const [key, amount] of orphans) {
        const value = counter(key);
        value.reserved = Math.max(0, value.reserved - amount);
        value.spent += amount;
        changed(key);
      }
      inFlight -= orphanCount;
      const crashed = orphans.size > 0 || orphanCount > 0;
      orphans.clear();
      orphanCount = 0;
      if (crashed) await settled();
      let ended = 0;
      for (const [id, reservation] of held) {
        if (reservation.createdAt >= createdBefore) continue;
        end(id, worstCase);
        ended += 1;
      }
      if (ended > 0) await journaled();
      return recovered + ended;
    },
    async spend(filter: SpendFilter = {}) {
      await settled();
      const conditions = ['counter_key <> ?'];
      const parameters: (string | number)[] = [inFlightCountKey];
      if (filter.scope !== undefined) { conditions.push('scope = ?'); parameters.push(filter.scope); }
      if (filter.scopePrefix !== undefined && filter.scopePrefix.length > 0) {
        // A range on the scope index (substr() would read every row): from the prefix up to the prefix whose last
        // character is the next one. Text compares by UTF-8 bytes, which orders as code points do.
        const prefix = filter.scopePrefix;
        const beyond = prefixEnd(prefix);
        conditions.push('scope >= ?');
        parameters.push(prefix);
        if (beyond !== undefined) { conditions.push('scope < ?'); parameters.push(beyond); }
      }
      if (filter.windowKeys !== undefined) {
        conditions.push(`window_key IN (${filter.windowKeys.map(() => '?').join(', ') || 'NULL'})`);
        parameters.push(...filter.windowKeys);
      }
      const rows = filter.closedBefore !== undefined
        ? closedCounters(database, filter.closedBefore, filter.limit ?? Number.MAX_SAFE_INTEGER, conditions, parameters)
        : database.prepare(`SELECT * FROM budget_counters WHERE ${conditions.join(' AND ')} ORDER BY scope, counter_key LIMIT ?`)
          .all(...parameters, filter.limit ?? -1) as CounterRow[];
      return rows.map((row) => ({
        counterKey: row.counter_key, scope: row.scope, unit: row.unit, period: row.period,
        windowKey: row.window_key, spent: row.spent, reserved: row.reserved,
      }));
    },
    async pruneCounters(candidates) {
      // Everything changed so far goes to the database first, so no journal line or fold brings a deleted row back.
      // Nothing folds meanwhile: the deletes below run in the same turn as the fold's end.
      await settled();
      // Changes made while the fold ran go to the journal now; those counters stay (the next fold writes them).
      writeLine();
      const pruned: string[] = [];
      prunes += 1;
      deleteCounters.immediate(() => {
        for (const { counterKey, spent } of candidates) {
          if (pinned(counterKey)) continue;
          const value = counter(counterKey);
          if (value.reserved !== 0 || value.spent !== spent) continue;
          counters.delete(counterKey);
          // A key never used has no row (memory only held zeros for it): nothing was pruned.
          if (deleteCounter.run(counterKey).changes > 0) pruned.push(counterKey);
        }
      });
      return pruned;
    },
    async close() {
      clearInterval(sweeper);
      if (timer !== undefined) clearTimeout(timer);
      if (lineRetry !== undefined) clearTimeout(lineRetry);
      timer = undefined;
      lineRetry = undefined;
      try {
        // Memory holds every settled amount: folded in, the database is current even when the last line failed.
        await settled();
      } catch (error) {
        // The journal replays at the next start; what it lacks counts at its worst case there.
        options.onError?.(error);
      }
      await thread?.stop();
      await checkpointer?.stop();
      journal?.close();
      // The database belongs to the caller (openSqliteStores opens the counters' file and closes it): closing it is theirs.
    },
  };
}

/**
 * The unreserved counters (matching `conditions`) of windows over at `closed.cutoff`, oldest window first, at most
 * `limit`. One seek of the (window_key, scope) index per distinct window key, so the millions of rows of the windows
 * still open are skipped unread, then one range of it per window that is over, already in (scope, counter key) order.
 * Each window is judged by windowEndedBefore itself: an hour key's text does not sort as its instant around DST.
 */
function closedCounters(
  database: SqliteDatabase, closed: { cutoff: number; timeZone: string }, limit: number, conditions: readonly string[], parameters: readonly (string | number)[],
): CounterRow[] {
  const nextWindow = database.prepare<[string], { window_key: string; period: CounterRecord['period'] }>(
    'SELECT window_key, period FROM budget_counters WHERE window_key > ? ORDER BY window_key LIMIT 1');
  const windowRows = database.prepare(
    `SELECT * FROM budget_counters WHERE window_key = ? AND reserved = 0 AND ${conditions.join(' AND ')} ORDER BY scope, counter_key LIMIT ?`);
  const rows: CounterRow[] = [];
  for (let window = nextWindow.get(''); window !== undefined && rows.length < limit; window = nextWindow.get(window.window_key)) {
    if (!windowEndedBefore(window.period, window.window_key, closed.cutoff, closed.timeZone)) continue;
    for (const row of windowRows.all(window.window_key, ...parameters, limit - rows.length) as CounterRow[]) rows.push(row);
  }
  return rows;
}

/** The smallest text above every text that starts with `prefix` (its last character raised by one); none past U+10FFFF. */
export function prefixEnd(prefix: string): string | undefined {
  const characters = [...prefix];
  const last = (characters.pop() as string).codePointAt(0) as number;
  if (last >= 0x10ffff) return undefined;
  // Surrogate code points cannot be encoded: the next character after U+D7FF is U+E000.
  const next = last + 1 >= 0xd800 && last + 1 <= 0xdfff ? 0xe000 : last + 1;
  return `${characters.join('')}${String.fromCodePoint(next)}`;
}
