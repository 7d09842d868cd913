// The set of stores a gateway runs on, whichever backend holds them; nothing here imports a backend.
import type { GovernanceAlertStore } from '../alerts/store.js';
import type { AlertStore } from '../budgets/alerts.js';
import type { ConsoleSessionStore } from '../console/store.js';
import type { BudgetStore } from '../budgets/store.js';
import type { DecisionStore } from '../decisions/store.js';
import type { RateLimitStore } from '../guards/rate-limits.js';
import type { LedgerStore } from '../ledger/types.js';
import type { ModelRegistryStore } from '../models/types.js';
import type { SessionStateStore, SuspensionStore } from '../sessions/store.js';
import type { SourcingStore } from '../sourcing/store.js';
import type { ContractRecordStore } from '../sourcing/records.js';
import type { KeyStore, RequestLog } from './records.js';

/** One backend's reachability, as /healthz reports it. */
export interface HealthCheck {
  name: 'sqlite' | 'postgres' | 'redis';
  ok: boolean;
  /** What /healthz names when the store answers but cannot write (the SQLite disk full); absent: unreachable. */
  problem?: 'disk_full';
  /** Why it is not reachable (a driver's message: no secrets, the URL is never quoted). */
  error?: string;
}

export interface Stores {
  kind: 'sqlite' | 'postgres';
  keys: KeyStore;
  requestLog: RequestLog;
  budgets: BudgetStore;
  alerts: AlertStore;
  /** Governance alerts (overdue reviews, suspended systems, SLA breaches, model changes, drift) with their delivery (SQLite, PostgreSQL). */
  governanceAlerts: GovernanceAlertStore;
  /** Rate-limit counters: in memory when embedded, in Redis when replicas share them. */
  rateLimits: RateLimitStore;
  ledger: LedgerStore;
  /** Agent sessions' hot counters (in memory embedded, Redis distributed); they expire when idle. */
  sessions: SessionStateStore;
  /** Agent session suspensions, durable (SQLite, PostgreSQL). */
  suspensions: SuspensionStore;
  /** The sourcing workbench: AI inventory, sourcing decisions, vendor pre-qualifications (SQLite, PostgreSQL). */
  sourcing: SourcingStore;
  /** Decision oversight: decisions, protected attributes, reviews, outcomes, system suspensions, SLA breaches (SQLite, PostgreSQL). */
  decisions: DecisionStore;
  /** The model registry's versions, fingerprints and alias moves, durable (SQLite, PostgreSQL). */
  models: ModelRegistryStore;
  /** Contract clause checks, registered weight artifacts and portability requests (SQLite, PostgreSQL). */
  contractRecords: ContractRecordStore;
  /** The console's sign-in sessions, durable and shared by replicas (SQLite, PostgreSQL). */
  consoleSessions: ConsoleSessionStore;
  /** True when several gateway processes share these stores (orphan recovery must then wait for old reservations). */
  shared: boolean;
  /** A cheap round trip to every backend (a trivial query, PING), each bounded by a short timeout. */
  health(): Promise<HealthCheck[]>;
  close(): Promise<void>;
}

/** Where problems in the background go: the error and what was being done. */
export type StoreErrorHandler = (error: unknown, where: string) => void;
