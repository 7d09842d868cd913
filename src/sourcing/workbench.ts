// The sourcing workbench over its store: inventory changes, links (with the failed-vendor rule), decisions, blueprints, qualifications; each a ledger event.
import { CovenantError } from '../core/errors.js';
import { blueprint, requiredClauses } from './blueprints.js';
import type { BlueprintId } from './clause-ids.js';
import { sourcingGuidance, type SourcingAnswers, type SourcingGuidance } from './decision.js';
import {
  inventoryKinds, inventorySchemas, isHighRisk,
  type Endpoint, type InventoryFile, type InventoryKind, type StoredItem, type StoredLink, type SystemRecord, type VendorLayer, type VendorRecord,
} from './inventory.js';
import { scoreQualification, type Answer, type QualificationResult } from './qualification.js';
import type { QualificationRecord, SourcingDecisionRecord, SourcingStore } from './store.js';

/** Who acts: an admin key's name and, when scoped, its department. */
export interface Actor {
  name: string;
  department: string | null;
}

export interface WorkbenchOptions {
  store: SourcingStore;
  /** Append a ledger entry; awaited, so an answer follows its evidence. */
  record: (entry: { kind: string; department?: string; [field: string]: unknown }) => Promise<void>;
  clock?: () => number;
}

const singular: Record<InventoryKind, string> = { systems: 'system', vendors: 'vendor', models: 'model', contracts: 'contract' };

function changedFields(before: unknown, after: unknown): string[] {
  const old = (before ?? {}) as Record<string, unknown>;
  const next = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  return [...keys].filter((key) => JSON.stringify(old[key]) !== JSON.stringify(next[key])).sort();
}

export class SourcingWorkbench {
  private readonly store: SourcingStore;
  private readonly record: WorkbenchOptions['record'];
  private readonly clock: () => number;

  constructor(options: WorkbenchOptions) {
    this.store = options.store;
    this.record = options.record;
    this.clock = options.clock ?? Date.now;
  }

  /** A record the actor may see; not_found (never forbidden) for another department's system, so names do not leak. */
  async get(kind: InventoryKind, name: string, actor: Actor): Promise<StoredItem> {
    const item = await this.store.get(kind, name);
    if (!item || (kind === 'systems' && actor.department !== null && item.department !== actor.department)) {
      throw new CovenantError('not_found', `There is no ${singular[kind]} "${name}" in the inventory.`);
    }
    return item as StoredItem;
  }

  /** Systems of the actor's department (all when unscoped); vendors, models and contracts are organisation-wide. */
  async list(kind: InventoryKind, actor: Actor): Promise<StoredItem[]> {
    return (await this.store.list(kind, { department: kind === 'systems' ? actor.department : null })) as StoredItem[];
  }

  /** Validate and store a record (insert or replace); `inventory.changed` records who changed which fields. */
  async put(kind: InventoryKind, input: unknown, actor: Actor): Promise<StoredItem> {
    const parsed = inventorySchemas[kind].safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CovenantError('invalid_request', `${issue.path.join('.') || singular[kind]}: ${issue.message}`, { param: issue.path.join('.') || null });
    }
    const data = parsed.data;
    let department: string | null = null;
    if (kind === 'systems') {
      department = (data as SystemRecord).department;
      this.requireDepartment(actor, department);
    } else {
      this.requireOrganisation(actor, `${singular[kind]}s are shared by the organisation`);
    }
    const before = await this.store.get(kind, data.name);
    if (before && kind === 'systems') this.requireDepartment(actor, before.department!);
    if (kind === 'systems' && isHighRisk(data as SystemRecord)) await this.requireQualifiedVendors(data as SystemRecord);
    const stored = await this.store.put({ kind, name: data.name, department, data, updatedAt: this.clock(), updatedBy: actor.name });
    await this.record({
      kind: 'inventory.changed', ...(department ? { department } : {}), by: actor.name, action: before ? 'updated' : 'created',
      item: { kind, name: data.name }, fields: changedFields(before?.data, data),
    });
    return stored as StoredItem;
  }

  async remove(kind: InventoryKind, name: string, actor: Actor): Promise<void> {
    const item = await this.get(kind, name, actor);
    if (kind === 'systems') this.requireDepartment(actor, item.department!);
    else this.requireOrganisation(actor, `${singular[kind]}s are shared by the organisation`);
    await this.store.remove(kind, name);
    await this.record({ kind: 'inventory.changed', ...(item.department ? { department: item.department } : {}), by: actor.name, action: 'deleted', item: { kind, name } });
  }

  /**
   * Link two records. A vendor whose latest pre-qualification failed may be linked to a high-risk system only with
   * an exception: a reason, recorded with the name of the admin key that granted it.
   */
  async link(from: Endpoint, to: Endpoint, actor: Actor, exception?: string): Promise<StoredLink> {
    if (from.kind === to.kind && from.name === to.name) throw new CovenantError('invalid_request', 'A record cannot be linked to itself.');
    const items = await Promise.all([from, to].map((endpoint) => this.get(endpoint.kind, endpoint.name, actor)));
    const systems = items.filter((item) => item.kind === 'systems');
    if (systems.length === 0) this.requireOrganisation(actor, 'links between organisation-wide records');
    for (const system of systems) this.requireDepartment(actor, system.department!);
    const system = systems[0]?.data as SystemRecord | undefined;
    const vendor = items.find((item) => item.kind === 'vendors');
    let failed: QualificationRecord | undefined;
    if (system && vendor && isHighRisk(system)) {
      const latest = (await this.store.qualifications(vendor.name))[0];
      if (latest && !latest.passed) failed = latest;
    }
    if (failed && !exception?.trim()) {
      throw new CovenantError('vendor_not_qualified',
        `Vendor "${vendor!.name}" failed pre-qualification (score ${failed.score}) and system "${system!.name}" is high-risk: `
        + 'link them only with a recorded exception (a reason; your key\'s name is recorded with it).');
    }
    const now = this.clock();
    const link = await this.store.link({
      from, to, exception: failed ? { reason: exception!.trim(), by: actor.name, at: now } : null, createdAt: now, createdBy: actor.name,
    });
    await this.record({
      kind: 'inventory.changed', ...(systems[0]?.department ? { department: systems[0].department } : {}), by: actor.name, action: 'linked',
      link: { from, to }, ...(link.exception ? { exception: { reason: link.exception.reason, by: link.exception.by, vendor_score: failed!.score } } : {}),
    });
    return link;
  }

  async unlink(from: Endpoint, to: Endpoint, actor: Actor): Promise<void> {
    const items = await Promise.all([from, to].map((endpoint) => this.get(endpoint.kind, endpoint.name, actor)));
    const system = items.find((item) => item.kind === 'systems');
    if (system) this.requireDepartment(actor, system.department!);
    else this.requireOrganisation(actor, 'links between organisation-wide records');
    if (!(await this.store.unlink(from, to))) throw new CovenantError('not_found', `${from.kind}/${from.name} and ${to.kind}/${to.name} are not linked.`);
    await this.record({ kind: 'inventory.changed', ...(system?.department ? { department: system.department } : {}), by: actor.name, action: 'unlinked', link: { from, to } });
  }

  /** Decide a strategy; with a system, store the decision, set the system's strategy and record `sourcing.decided`. */
  async decide(answers: SourcingAnswers, actor: Actor, systemName?: string): Promise<{ guidance: SourcingGuidance; decision?: SourcingDecisionRecord }> {
    const guidance = sourcingGuidance(answers);
    if (systemName === undefined) return { guidance };
    const item = await this.get('systems', systemName, actor);
    this.requireDepartment(actor, item.department!);
    const decision = await this.store.addDecision({ system: systemName, strategy: guidance.strategy, answers, decidedBy: actor.name, decidedAt: this.clock() });
    await this.store.put({ ...item, data: { ...(item.data as SystemRecord), strategy: guidance.strategy }, updatedAt: this.clock(), updatedBy: actor.name });
    await this.record({ kind: 'sourcing.decided', department: item.department!, by: actor.name, system: systemName, strategy: guidance.strategy, answers, decision_id: decision.id });
    return { guidance, decision };
  }

  /** Record a blueprint on a system (`blueprint.applied`); returns the system as stored now. */
  async applyBlueprint(systemName: string, id: BlueprintId, actor: Actor): Promise<StoredItem> {
    const item = await this.get('systems', systemName, actor);
    this.requireDepartment(actor, item.department!);
    const previous = (item.data as SystemRecord).blueprint ?? null;
    const stored = await this.store.put({ ...item, data: { ...(item.data as SystemRecord), blueprint: id }, updatedAt: this.clock(), updatedBy: actor.name });
    await this.record({
      kind: 'blueprint.applied', department: item.department!, by: actor.name, system: systemName, blueprint: id, previous,
      clauses: [...blueprint(id).clauses],
    });
    return stored as StoredItem;
  }

  /** Score a vendor's answers against its layer's questionnaire, store the result and record `vendor.qualified`. */
  async qualify(vendorName: string, answers: Record<string, Answer>, actor: Actor, layer?: VendorLayer): Promise<{ result: QualificationResult; record: QualificationRecord }> {
    this.requireOrganisation(actor, 'vendors are shared by the organisation');
    const vendor = await this.get('vendors', vendorName, actor);
    const vendorLayer = layer ?? (vendor.data as VendorRecord).layer;
    let result: QualificationResult;
    try {
      result = scoreQualification(vendorLayer, answers);
    } catch (error) {
      throw new CovenantError('invalid_request', (error as Error).message, { param: 'answers' });
    }
    const record = await this.store.addQualification({
      vendor: vendorName, layer: vendorLayer, score: result.score, passed: result.passed,
      detail: { reasons: result.reasons, questions: result.questions }, qualifiedBy: actor.name, qualifiedAt: this.clock(),
    });
    await this.record({ kind: 'vendor.qualified', by: actor.name, vendor: vendorName, layer: vendorLayer, score: result.score, passed: result.passed, reasons: result.reasons });
    return { result, record };
  }

  async qualifications(vendorName: string, actor: Actor): Promise<QualificationRecord[]> {
    await this.get('vendors', vendorName, actor);
    return this.store.qualifications(vendorName);
  }

  async decisions(systemName: string, actor: Actor): Promise<SourcingDecisionRecord[]> {
    await this.get('systems', systemName, actor);
    return this.store.decisions(systemName);
  }

  /** A system with what the workbench knows of it: required clauses, links, decisions, its vendors' latest qualification. */
  async systemView(systemName: string, actor: Actor) {
    const item = await this.get('systems', systemName, actor);
    const system = item.data as SystemRecord;
    const links = await this.store.links({ kind: 'systems', name: systemName });
    const linked = links.map((link) => (link.from.kind === 'systems' && link.from.name === systemName ? link.to : link.from));
    const vendors = await Promise.all(linked.filter((endpoint) => endpoint.kind === 'vendors').map(async (endpoint) => {
      const stored = await this.store.get('vendors', endpoint.name);
      const latest = (await this.store.qualifications(endpoint.name))[0];
      const link = links.find((each) => each.from.name === endpoint.name || each.to.name === endpoint.name);
      return {
        ...(stored?.data as VendorRecord), qualification: latest ? { score: latest.score, passed: latest.passed, at: new Date(latest.qualifiedAt).toISOString(), by: latest.qualifiedBy, detail: latest.detail } : null,
        exception: link?.exception ? { reason: link.exception.reason, by: link.exception.by, at: new Date(link.exception.at).toISOString() } : null,
      };
    }));
    const related = async (kind: InventoryKind) => (await Promise.all(linked.filter((endpoint) => endpoint.kind === kind)
      .map((endpoint) => this.store.get(kind, endpoint.name)))).filter((each) => each !== undefined).map((each) => each!.data);
    const decisions = await this.store.decisions(systemName);
    const required = requiredClauses(system.blueprint, system.required_clauses);
    return {
      ...system,
      required_clauses: required.map((entry) => entry.clause),
      clause_requirements: Object.fromEntries(required.filter((entry) => entry.requirements.length > 0).map((entry) => [entry.clause, entry.requirements])),
      high_risk: isHighRisk(system),
      vendors,
      models: await related('models'),
      contracts: await related('contracts'),
      decisions: decisions.map((decision) => ({ id: decision.id, strategy: decision.strategy, answers: decision.answers, by: decision.decidedBy, at: new Date(decision.decidedAt).toISOString() })),
      updated_at: new Date(item.updatedAt).toISOString(),
      updated_by: item.updatedBy,
    };
  }

  /** Store every record of a file (systems last, so their vendor links can be checked), then its links. */
  async importFile(file: InventoryFile, actor: Actor): Promise<{ created: number; updated: number; links: number }> {
    await this.checkImport(file, actor);
    let created = 0;
    let updated = 0;
    for (const kind of ['vendors', 'models', 'contracts', 'systems'] as const) {
      for (const record of file[kind]) {
        const before = await this.store.get(kind, record.name);
        await this.put(kind, record, actor);
        if (before) updated += 1;
        else created += 1;
      }
    }
    for (const link of file.links) await this.link(link.from, link.to, actor, link.exception);
    return { created, updated, links: file.links.length };
  }

  /** The inventory the actor may see, as one YAML file holds it. */
  async exportFile(actor: Actor): Promise<InventoryFile> {
    const result: InventoryFile = { systems: [], vendors: [], models: [], contracts: [], links: [] };
    const visible = new Set<string>();
    for (const kind of inventoryKinds) {
      const items = await this.list(kind, actor);
      (result[kind] as unknown[]).push(...items.map((item) => item.data));
      for (const item of items) visible.add(`${kind}/${item.name}`);
    }
    for (const link of await this.store.links()) {
      if (!visible.has(`${link.from.kind}/${link.from.name}`) || !visible.has(`${link.to.kind}/${link.to.name}`)) continue;
      result.links.push({ from: link.from, to: link.to, ...(link.exception ? { exception: link.exception.reason } : {}) });
    }
    return result;
  }

  /** Refuse a file before anything is written when a record or link in it would be refused on its own. */
  private async checkImport(file: InventoryFile, actor: Actor): Promise<void> {
    if (actor.department !== null && (file.vendors.length > 0 || file.models.length > 0 || file.contracts.length > 0)) {
      this.requireOrganisation(actor, 'vendors, models and contracts are shared by the organisation');
    }
    for (const system of file.systems) {
      this.requireDepartment(actor, system.department);
      const before = await this.store.get('systems', system.name);
      if (before) this.requireDepartment(actor, before.department!);
    }
    const systems = new Map(file.systems.map((system) => [system.name, system]));
    const known = async (endpoint: Endpoint) => (endpoint.kind === 'systems' && systems.has(endpoint.name))
      || (file[endpoint.kind] as { name: string }[]).some((record) => record.name === endpoint.name)
      || (await this.store.get(endpoint.kind, endpoint.name)) !== undefined;
    for (const link of file.links) {
      for (const endpoint of [link.from, link.to]) {
        if (!(await known(endpoint))) throw new CovenantError('not_found', `The file links ${endpoint.kind}/${endpoint.name}, which is neither in the file nor in the inventory; nothing was imported.`);
      }
      const systemEnd = [link.from, link.to].find((endpoint) => endpoint.kind === 'systems');
      const vendorEnd = [link.from, link.to].find((endpoint) => endpoint.kind === 'vendors');
      if (!systemEnd || !vendorEnd || link.exception) continue;
      const system = systems.get(systemEnd.name) ?? ((await this.store.get('systems', systemEnd.name))?.data as SystemRecord | undefined);
      const latest = (await this.store.qualifications(vendorEnd.name))[0];
      if (system && isHighRisk(system) && latest && !latest.passed) {
        throw new CovenantError('vendor_not_qualified', `The file links vendor "${vendorEnd.name}", which failed pre-qualification (score ${latest.score}), to high-risk system "${system.name}" without an exception; nothing was imported.`);
      }
    }
  }

  private requireDepartment(actor: Actor, department: string): void {
    if (actor.department !== null && actor.department !== department) {
      throw new CovenantError('forbidden', `This admin key is scoped to department "${actor.department}".`);
    }
  }

  private requireOrganisation(actor: Actor, what: string): void {
    if (actor.department !== null) throw new CovenantError('forbidden', `Only an unscoped admin key may change this (${what}); this key is scoped to department "${actor.department}".`);
  }

  private async requireQualifiedVendors(system: SystemRecord): Promise<void> {
    for (const link of await this.store.links({ kind: 'systems', name: system.name })) {
      const vendor = link.from.kind === 'vendors' ? link.from : link.to.kind === 'vendors' ? link.to : undefined;
      if (!vendor || link.exception) continue;
      const latest = (await this.store.qualifications(vendor.name))[0];
      if (latest && !latest.passed) {
        throw new CovenantError('vendor_not_qualified',
          `System "${system.name}" would become high-risk while linked to vendor "${vendor.name}", which failed pre-qualification (score ${latest.score}): `
          + 'unlink it, or link it again with a recorded exception, first.');
      }
    }
  }
}
