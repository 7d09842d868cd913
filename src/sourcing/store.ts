// The sourcing workbench's storage contract: inventory records and links, sourcing decisions and vendor pre-qualifications.
import type { Endpoint, InventoryKind, StoredItem, StoredLink } from './inventory.js';

export interface SourcingDecisionRecord {
  id: number;
  system: string;
  strategy: string;
  answers: { differentiator: boolean; data_moat: boolean; speed_priority: boolean };
  decidedBy: string;
  decidedAt: number;
}

export interface QualificationRecord {
  id: number;
  vendor: string;
  layer: string;
  /** 0–100, weighted. */
  score: number;
  passed: boolean;
  /** The answers as given (question id → answer, evidence) and each question's result. */
  detail: unknown;
  qualifiedBy: string;
  qualifiedAt: number;
}

export interface SourcingStore {
  /** Insert or replace a record; returns it as stored. */
  put(item: StoredItem<unknown>): Promise<StoredItem<unknown>>;
  get(kind: InventoryKind, name: string): Promise<StoredItem<unknown> | undefined>;
  /** Sorted by name; `department` narrows systems to one department (other kinds have none and are left out). */
  list(kind: InventoryKind, filter?: { department?: string | null }): Promise<StoredItem<unknown>[]>;
  /** Removes the record and every link to or from it; false when there was none. */
  remove(kind: InventoryKind, name: string): Promise<boolean>;
  /** Insert or replace the link between two records. */
  link(link: StoredLink): Promise<StoredLink>;
  unlink(from: Endpoint, to: Endpoint): Promise<boolean>;
  /** Links to or from a record; every link when omitted. */
  links(of?: Endpoint): Promise<StoredLink[]>;
  addDecision(decision: Omit<SourcingDecisionRecord, 'id'>): Promise<SourcingDecisionRecord>;
  /** Newest first. */
  decisions(system: string): Promise<SourcingDecisionRecord[]>;
  addQualification(qualification: Omit<QualificationRecord, 'id'>): Promise<QualificationRecord>;
  /** Newest first. */
  qualifications(vendor: string): Promise<QualificationRecord[]>;
}

/** Rows as both SQL stores return them (BIGINT columns may come back as strings, JSON as text or parsed). */
export interface ItemRow { kind: string; name: string; department: string | null; data: string | object; updated_at: number | string; updated_by: string }
export interface LinkRow {
  from_kind: string; from_name: string; to_kind: string; to_name: string; exception: string | object | null;
  created_at: number | string; created_by: string;
}
export interface DecisionRow { id: number | string; system: string; strategy: string; answers: string | object; decided_by: string; decided_at: number | string }
export interface QualificationRow {
  id: number | string; vendor: string; layer: string; score: number | string; passed: boolean | number; detail: string | object;
  qualified_by: string; qualified_at: number | string;
}

const json = <T>(value: string | object): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

export const itemFromRow = (row: ItemRow): StoredItem<unknown> => ({
  kind: row.kind as InventoryKind, name: row.name, department: row.department, data: json(row.data), updatedAt: Number(row.updated_at), updatedBy: row.updated_by,
});

export const linkFromRow = (row: LinkRow): StoredLink => ({
  from: { kind: row.from_kind as InventoryKind, name: row.from_name }, to: { kind: row.to_kind as InventoryKind, name: row.to_name },
  exception: row.exception === null ? null : json(row.exception), createdAt: Number(row.created_at), createdBy: row.created_by,
});

export const decisionFromRow = (row: DecisionRow): SourcingDecisionRecord => ({
  id: Number(row.id), system: row.system, strategy: row.strategy, answers: json(row.answers), decidedBy: row.decided_by, decidedAt: Number(row.decided_at),
});

export const qualificationFromRow = (row: QualificationRow): QualificationRecord => ({
  id: Number(row.id), vendor: row.vendor, layer: row.layer, score: Number(row.score), passed: Boolean(row.passed), detail: json(row.detail),
  qualifiedBy: row.qualified_by, qualifiedAt: Number(row.qualified_at),
});

/** Links are stored in one direction: the endpoint that sorts first is `from`, so a link and its reverse are one row. */
export function orderLink(from: Endpoint, to: Endpoint): [Endpoint, Endpoint] {
  const key = (endpoint: Endpoint) => `${endpoint.kind}\u0000${endpoint.name}`;
  return key(from) <= key(to) ? [from, to] : [to, from];
}
