// Durable records of the contract workbench: clause checks, registered weight artifacts, portability requests.
import type { ClauseId } from './clause-ids.js';

export interface ContractCheckRecord {
  id: number;
  /** The file as given to the checker, and its SHA-256. */
  file: string;
  sha256: string;
  format: string;
  blueprint: string | null;
  system: string | null;
  contractId: string | null;
  department: string | null;
  passed: boolean;
  missing: ClauseId[];
  weaker: ClauseId[];
  /** The whole check as the CLI's --json prints it. */
  result: unknown;
  checkedBy: string;
  checkedAt: number;
}
export type NewContractCheck = Omit<ContractCheckRecord, 'id'>;

export interface WeightsRecord {
  id: number;
  path: string;
  format: 'safetensors' | 'onnx';
  sha256: string;
  bytes: number;
  parameters: number;
  /** What the check found (tensors and dtypes, or ONNX's ir_version and opsets). */
  summary: unknown;
  contractId: string | null;
  system: string | null;
  department: string | null;
  registeredBy: string;
  registeredAt: number;
}
export type NewWeights = Omit<WeightsRecord, 'id'>;

export type PortabilityStatus = 'open' | 'delivered' | 'overdue';

export interface PortabilityRequestRecord {
  id: number;
  contractId: string;
  system: string | null;
  department: string | null;
  /** The day the request was made and the contractual due date (YYYY-MM-DD), `dueBusinessDays` business days later. */
  requestedOn: string;
  dueBusinessDays: number;
  dueOn: string;
  holidays: string[];
  note: string | null;
  status: PortabilityStatus;
  requestedBy: string;
  requestedAt: number;
  /** The verified artifact that fulfilled it. */
  weightsId: number | null;
  deliveredAt: number | null;
  /** When it was first seen past its due date. */
  overdueAt: number | null;
}
export type NewPortabilityRequest = Omit<PortabilityRequestRecord, 'id' | 'status' | 'weightsId' | 'deliveredAt' | 'overdueAt'>;

export interface RecordFilter {
  /** Only this department's rows (a department-scoped admin key). */
  department?: string | null;
  system?: string;
  contractId?: string;
  limit?: number;
}

/** Both SQL stores implement this; newest first in every list. */
export interface ContractRecordStore {
  recordCheck(check: NewContractCheck): Promise<ContractCheckRecord>;
  getCheck(id: number): Promise<ContractCheckRecord | undefined>;
  listChecks(filter?: RecordFilter): Promise<ContractCheckRecord[]>;
  registerWeights(weights: NewWeights): Promise<WeightsRecord>;
  getWeights(id: number): Promise<WeightsRecord | undefined>;
  listWeights(filter?: RecordFilter): Promise<WeightsRecord[]>;
  openRequest(request: NewPortabilityRequest): Promise<PortabilityRequestRecord>;
  getRequest(id: number): Promise<PortabilityRequestRecord | undefined>;
  listRequests(filter?: RecordFilter & { status?: PortabilityStatus }): Promise<PortabilityRequestRecord[]>;
  /** Mark an open or overdue request delivered by a registered artifact; undefined when it is not waiting. */
  deliver(id: number, delivery: { weightsId: number; at: number }): Promise<PortabilityRequestRecord | undefined>;
  /** Mark an open request overdue; false when it was not open (already overdue, delivered, or another replica did it). */
  markOverdue(id: number, at: number): Promise<boolean>;
}

/** Rows as both SQL stores return them (BIGINT columns may come back as strings, JSON as text). */
export interface CheckRow {
  id: number | string; file: string; sha256: string; format: string; blueprint: string | null; system: string | null; contract_id: string | null;
  department: string | null; passed: number | boolean; missing: string; weaker: string; result: string; checked_by: string; checked_at: number | string;
}
export interface WeightsRow {
  id: number | string; path: string; format: string; sha256: string; bytes: number | string; parameters: number | string; summary: string;
  contract_id: string | null; system: string | null; department: string | null; registered_by: string; registered_at: number | string;
}
export interface RequestRow {
  id: number | string; contract_id: string; system: string | null; department: string | null; requested_on: string; due_business_days: number | string;
  due_on: string; holidays: string; note: string | null; status: string; requested_by: string; requested_at: number | string;
  weights_id: number | string | null; delivered_at: number | string | null; overdue_at: number | string | null;
}

const optional = (value: number | string | null): number | null => (value === null ? null : Number(value));

export function checkFromRow(row: CheckRow): ContractCheckRecord {
  return {
    id: Number(row.id), file: row.file, sha256: row.sha256, format: row.format, blueprint: row.blueprint, system: row.system, contractId: row.contract_id,
    department: row.department, passed: Boolean(row.passed), missing: JSON.parse(row.missing) as ClauseId[], weaker: JSON.parse(row.weaker) as ClauseId[],
    result: JSON.parse(row.result), checkedBy: row.checked_by, checkedAt: Number(row.checked_at),
  };
}
export const checkColumns = ['file', 'sha256', 'format', 'blueprint', 'system', 'contract_id', 'department', 'passed', 'missing', 'weaker', 'result', 'checked_by', 'checked_at'] as const;
export const checkValues = (check: NewContractCheck, passed: number | boolean) => [
  check.file, check.sha256, check.format, check.blueprint, check.system, check.contractId, check.department, passed,
  JSON.stringify(check.missing), JSON.stringify(check.weaker), JSON.stringify(check.result), check.checkedBy, check.checkedAt,
];

export function weightsFromRow(row: WeightsRow): WeightsRecord {
  return {
    id: Number(row.id), path: row.path, format: row.format as WeightsRecord['format'], sha256: row.sha256, bytes: Number(row.bytes),
    parameters: Number(row.parameters), summary: JSON.parse(row.summary), contractId: row.contract_id, system: row.system, department: row.department,
    registeredBy: row.registered_by, registeredAt: Number(row.registered_at),
  };
}
export const weightsColumns = ['path', 'format', 'sha256', 'bytes', 'parameters', 'summary', 'contract_id', 'system', 'department', 'registered_by', 'registered_at'] as const;
export const weightsValues = (weights: NewWeights) => [
  weights.path, weights.format, weights.sha256, weights.bytes, weights.parameters, JSON.stringify(weights.summary), weights.contractId, weights.system,
  weights.department, weights.registeredBy, weights.registeredAt,
];

export function requestFromRow(row: RequestRow): PortabilityRequestRecord {
  return {
    id: Number(row.id), contractId: row.contract_id, system: row.system, department: row.department, requestedOn: row.requested_on,
    dueBusinessDays: Number(row.due_business_days), dueOn: row.due_on, holidays: JSON.parse(row.holidays) as string[], note: row.note,
    status: row.status as PortabilityStatus, requestedBy: row.requested_by, requestedAt: Number(row.requested_at), weightsId: optional(row.weights_id),
    deliveredAt: optional(row.delivered_at), overdueAt: optional(row.overdue_at),
  };
}
export const requestColumns = ['contract_id', 'system', 'department', 'requested_on', 'due_business_days', 'due_on', 'holidays', 'note', 'status', 'requested_by', 'requested_at'] as const;
export const requestValues = (request: NewPortabilityRequest) => [
  request.contractId, request.system, request.department, request.requestedOn, request.dueBusinessDays, request.dueOn, JSON.stringify(request.holidays),
  request.note, 'open', request.requestedBy, request.requestedAt,
];

export const clampLimit = (limit: number | undefined): number => Math.max(1, Math.min(limit ?? 1000, 10_000));
