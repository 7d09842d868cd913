// The contract workbench's actions: record a clause check, register a verified artifact, open and track portability
// requests; each leaves its evidence-ledger entry.
import type { LedgerEntryInput } from '../ledger/types.js';
import { addBusinessDays, isDate } from './business-days.js';
import type {
  ContractCheckRecord, ContractRecordStore, NewContractCheck, NewWeights, PortabilityRequestRecord, RecordFilter, WeightsRecord, PortabilityStatus,
} from './records.js';

export interface WorkbenchOptions {
  store: ContractRecordStore;
  /** Appends a ledger entry; awaited, so an answer follows its evidence. */
  record: (entry: LedgerEntryInput) => Promise<void>;
  clock?: () => number;
}

export interface NewRequestInput {
  contractId: string;
  dueBusinessDays: number;
  requestedOn?: string;
  holidays?: string[];
  system?: string | null;
  note?: string | null;
  department: string | null;
  by: string;
}

/** A checked request's date is the UTC calendar day of `now`. */
export const utcDay = (now: number): string => new Date(now).toISOString().slice(0, 10);

export class ContractWorkbench {
  private readonly store: ContractRecordStore;
  private readonly record: WorkbenchOptions['record'];
  private readonly clock: () => number;

  constructor(options: WorkbenchOptions) {
    this.store = options.store;
    this.record = options.record;
    this.clock = options.clock ?? Date.now;
  }

  async recordCheck(check: Omit<NewContractCheck, 'checkedAt'>): Promise<ContractCheckRecord> {
    const stored = await this.store.recordCheck({ ...check, checkedAt: this.clock() });
    await this.record({
      kind: 'contract.checked', ...(stored.department ? { department: stored.department } : {}), check_id: stored.id, file: stored.file,
      sha256: stored.sha256, blueprint: stored.blueprint, system: stored.system, contract_id: stored.contractId, passed: stored.passed,
      missing: stored.missing, weaker: stored.weaker, by: stored.checkedBy,
    });
    return stored;
  }

  getCheck = (id: number) => this.store.getCheck(id);
  listChecks = (filter?: RecordFilter) => this.store.listChecks(filter);
  getWeights = (id: number) => this.store.getWeights(id);
  listWeights = (filter?: RecordFilter) => this.store.listWeights(filter);

  /** Register a verified artifact; the open requests of its contract are delivered by it. */
  async registerWeights(weights: Omit<NewWeights, 'registeredAt'>): Promise<{ weights: WeightsRecord; delivered: PortabilityRequestRecord[] }> {
    const stored = await this.store.registerWeights({ ...weights, registeredAt: this.clock() });
    await this.record({
      kind: 'weights.registered', ...(stored.department ? { department: stored.department } : {}), weights_id: stored.id, path: stored.path,
      format: stored.format, sha256: stored.sha256, bytes: stored.bytes, parameters: stored.parameters, contract_id: stored.contractId,
      system: stored.system, by: stored.registeredBy,
    });
    const delivered: PortabilityRequestRecord[] = [];
    if (stored.contractId !== null) {
      for (const status of ['open', 'overdue'] as const) {
        for (const request of await this.store.listRequests({ contractId: stored.contractId, status })) {
          const done = await this.deliver(request.id, stored, stored.registeredBy);
          if (done) delivered.push(done);
        }
      }
    }
    return { weights: stored, delivered };
  }

  async deliver(id: number, weights: WeightsRecord, by: string): Promise<PortabilityRequestRecord | undefined> {
    const now = this.clock();
    const delivered = await this.store.deliver(id, { weightsId: weights.id, at: now });
    if (!delivered) return undefined;
    await this.record({
      kind: 'portability.delivered', ...(delivered.department ? { department: delivered.department } : {}), request_id: delivered.id,
      contract_id: delivered.contractId, weights_id: weights.id, sha256: weights.sha256, due_on: delivered.dueOn, on_time: utcDay(now) <= delivered.dueOn, by,
    });
    return delivered;
  }

  async openRequest(input: NewRequestInput): Promise<PortabilityRequestRecord> {
    const now = this.clock();
    const requestedOn = input.requestedOn ?? utcDay(now);
    if (!isDate(requestedOn)) throw new RangeError(`requested_on "${requestedOn}" is not a date (YYYY-MM-DD)`);
    const holidays = [...new Set(input.holidays ?? [])].sort();
    const badHoliday = holidays.find((day) => !isDate(day));
    if (badHoliday) throw new RangeError(`holiday "${badHoliday}" is not a date (YYYY-MM-DD)`);
    const dueOn = addBusinessDays(requestedOn, input.dueBusinessDays, new Set(holidays));
    const stored = await this.store.openRequest({
      contractId: input.contractId, system: input.system ?? null, department: input.department, requestedOn, dueBusinessDays: input.dueBusinessDays,
      dueOn, holidays, note: input.note ?? null, requestedBy: input.by, requestedAt: now,
    });
    await this.record({
      kind: 'portability.requested', ...(stored.department ? { department: stored.department } : {}), request_id: stored.id,
      contract_id: stored.contractId, system: stored.system, requested_on: requestedOn, due_business_days: stored.dueBusinessDays, due_on: dueOn, by: input.by,
    });
    return stored;
  }

  /** Open requests whose due date has passed become overdue (once, with a ledger entry); then the list. */
  async listRequests(filter: RecordFilter & { status?: PortabilityStatus } = {}): Promise<PortabilityRequestRecord[]> {
    await this.markOverdue();
    return this.store.listRequests(filter);
  }

  async getRequest(id: number): Promise<PortabilityRequestRecord | undefined> {
    await this.markOverdue();
    return this.store.getRequest(id);
  }

  async markOverdue(): Promise<void> {
    const now = this.clock();
    const today = utcDay(now);
    for (const request of await this.store.listRequests({ status: 'open', limit: 10_000 })) {
      if (today <= request.dueOn) continue;
      if (!(await this.store.markOverdue(request.id, now))) continue;
      await this.record({
        kind: 'portability.overdue', ...(request.department ? { department: request.department } : {}), request_id: request.id,
        contract_id: request.contractId, due_on: request.dueOn,
      });
    }
  }
}
