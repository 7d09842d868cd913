// Admin API of the sourcing workbench under /admin/inventory: records, links, import/export, decisions, blueprints, qualifications, reports.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ConfigError } from '../../config/load.js';
import { CovenantError } from '../../core/errors.js';
import { blueprint, isBlueprintId, systemsEntry } from '../../sourcing/blueprints.js';
import { parseYesNo } from '../../sourcing/decision.js';
import { endpointSchema, inventoryKinds, layerSchema, type InventoryKind, type SystemRecord } from '../../sourcing/inventory.js';
import { inventoryYaml, parseInventoryYaml } from '../../sourcing/inventory-yaml.js';
import { answerSchema } from '../../sourcing/qualification.js';
import type { SourcingWorkbench, Actor } from '../../sourcing/workbench.js';
import type { Gateway } from '../gateway.js';
import { parseBody } from '../validate.js';

/** Contract checks of a system, from the contract checker's store; wired at assembly when that store exists. */
export type ContractChecksReader = (system: string, actor: Actor) => Promise<unknown[]>;

const linkBody = z.strictObject({ from: endpointSchema, to: endpointSchema, exception: z.string().trim().min(1).max(2000).optional() });
const unlinkBody = z.strictObject({ from: endpointSchema, to: endpointSchema });
const importBody = z.strictObject({ yaml: z.string().max(10 * 1024 * 1024), file: z.string().max(500).optional() });
const yesNo = z.union([z.boolean(), z.string()]).transform((value, context) => {
  const parsed = parseYesNo(value);
  if (parsed === undefined) context.addIssue({ code: 'custom', message: 'yes or no' });
  return parsed ?? false;
});
const decisionBody = z.strictObject({ differentiator: yesNo, data_moat: yesNo, speed_priority: yesNo });
const blueprintBody = z.strictObject({ blueprint: z.string().trim().toUpperCase() });
const qualifyBody = z.strictObject({ layer: layerSchema.optional(), answers: z.record(z.string(), answerSchema) });

const actorOf = (request: FastifyRequest): Actor => ({ name: request.adminPrincipal.name, department: request.adminPrincipal.department });

function kindParameter(value: string): InventoryKind {
  if (!(inventoryKinds as readonly string[]).includes(value)) throw new CovenantError('not_found', `There is no inventory collection "${value}" (one of ${inventoryKinds.join(', ')}).`);
  return value as InventoryKind;
}

/** The live status the gateway knows of a system's models: each linked alias's pinned version and provider. */
function liveModels(gateway: Gateway, models: readonly { name: string; alias?: string; version?: string }[]) {
  return models.map((model) => {
    const configured = model.alias ? gateway.config.models.get(model.alias) : undefined;
    return {
      name: model.name, alias: model.alias ?? null, recorded_version: model.version ?? null,
      gateway_version: configured?.version ?? null, provider: configured?.provider ?? null,
      status: !model.alias ? 'not routed through the gateway' : !configured ? 'alias not configured' : model.version && model.version !== configured.version ? 'version differs' : 'pinned',
    };
  });
}

/** Routes relative to the admin plugin's /admin prefix; department-scoped keys see and change their department's systems only. */
export function registerInventoryRoutes(admin: FastifyInstance, workbench: SourcingWorkbench, gateway: Gateway, contractChecks?: ContractChecksReader): void {
  admin.get('/inventory/export', { config: { access: 'read' } }, async (request, reply) => {
    const inventory = await workbench.exportFile(actorOf(request));
    if ((request.query as { format?: string }).format === 'json') return inventory;
    reply.type('application/yaml; charset=utf-8');
    return inventoryYaml(inventory);
  });

  admin.post('/inventory/import', { config: { access: 'write' } }, async (request) => {
    const body = parseBody(importBody, request.body ?? {});
    let file;
    try {
      file = parseInventoryYaml(body.yaml, body.file ?? '<inventory>');
    } catch (error) {
      if (error instanceof ConfigError) throw new CovenantError('invalid_request', `The inventory file has errors:\n${error.message}`);
      throw error;
    }
    return workbench.importFile(file, actorOf(request));
  });

  admin.get('/inventory/links', { config: { access: 'read' } }, async (request) => ({ data: (await workbench.exportFile(actorOf(request))).links }));

  admin.post('/inventory/links', { config: { access: 'write' } }, async (request) => {
    const body = parseBody(linkBody, request.body ?? {});
    const link = await workbench.link(body.from, body.to, actorOf(request), body.exception);
    return { from: link.from, to: link.to, exception: link.exception && { reason: link.exception.reason, by: link.exception.by, at: new Date(link.exception.at).toISOString() } };
  });

  admin.delete('/inventory/links', { config: { access: 'write' } }, async (request) => {
    const body = parseBody(unlinkBody, request.body ?? {});
    await workbench.unlink(body.from, body.to, actorOf(request));
    return { unlinked: true };
  });

  admin.get('/inventory/:kind', { config: { access: 'read' } }, async (request) => {
    const kind = kindParameter((request.params as { kind: string }).kind);
    return { data: (await workbench.list(kind, actorOf(request))).map((item) => item.data) };
  });

  admin.get('/inventory/:kind/:name', { config: { access: 'read' } }, async (request) => {
    const { kind: kindText, name } = request.params as { kind: string; name: string };
    const kind = kindParameter(kindText);
    const actor = actorOf(request);
    if (kind === 'systems') return workbench.systemView(name, actor);
    const item = await workbench.get(kind, name, actor);
    if (kind !== 'vendors') return item.data;
    const latest = (await workbench.qualifications(name, actor))[0];
    return { ...(item.data as object), qualification: latest ? { score: latest.score, passed: latest.passed, at: new Date(latest.qualifiedAt).toISOString(), by: latest.qualifiedBy } : null };
  });

  admin.put('/inventory/:kind/:name', { config: { access: 'write' } }, async (request) => {
    const { kind: kindText, name } = request.params as { kind: string; name: string };
    const kind = kindParameter(kindText);
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new CovenantError('invalid_request', 'The request body must be a JSON object.');
    const record = { ...(body as Record<string, unknown>), name: (body as { name?: unknown }).name ?? name };
    if (record.name !== name) throw new CovenantError('invalid_request', `The body's name "${String(record.name)}" differs from the path's "${name}".`, { param: 'name' });
    return (await workbench.put(kind, record, actorOf(request))).data;
  });

  admin.delete('/inventory/:kind/:name', { config: { access: 'write' } }, async (request) => {
    const { kind: kindText, name } = request.params as { kind: string; name: string };
    await workbench.remove(kindParameter(kindText), name, actorOf(request));
    return { deleted: true };
  });

  admin.get('/inventory/systems/:name/decisions', { config: { access: 'read' } }, async (request) => {
    const { name } = request.params as { name: string };
    const records = await workbench.decisions(name, actorOf(request));
    return { data: records.map((record) => ({ id: record.id, strategy: record.strategy, answers: record.answers, by: record.decidedBy, at: new Date(record.decidedAt).toISOString() })) };
  });

  admin.post('/inventory/systems/:name/decisions', { config: { access: 'write' } }, async (request) => {
    const { name } = request.params as { name: string };
    const answers = parseBody(decisionBody, request.body ?? {});
    const { guidance, decision } = await workbench.decide(answers, actorOf(request), name);
    return { system: name, ...guidance, answers, decision_id: decision!.id, decided_by: decision!.decidedBy, decided_at: new Date(decision!.decidedAt).toISOString() };
  });

  admin.post('/inventory/systems/:name/blueprint', { config: { access: 'write' } }, async (request) => {
    const { name } = request.params as { name: string };
    const body = parseBody(blueprintBody, request.body ?? {});
    if (!isBlueprintId(body.blueprint)) throw new CovenantError('invalid_request', 'blueprint must be one of A, B, C, D, E.', { param: 'blueprint' });
    const stored = await workbench.applyBlueprint(name, body.blueprint, actorOf(request));
    const system = stored.data as SystemRecord;
    return { system: name, blueprint: blueprint(body.blueprint), systems_entry: systemsEntry(body.blueprint, system), department: system.department };
  });

  admin.get('/inventory/vendors/:name/qualifications', { config: { access: 'read' } }, async (request) => {
    const { name } = request.params as { name: string };
    const records = await workbench.qualifications(name, actorOf(request));
    return { data: records.map((record) => ({ id: record.id, layer: record.layer, score: record.score, passed: record.passed, detail: record.detail, by: record.qualifiedBy, at: new Date(record.qualifiedAt).toISOString() })) };
  });

  admin.post('/inventory/vendors/:name/qualifications', { config: { access: 'write' } }, async (request) => {
    const { name } = request.params as { name: string };
    const body = parseBody(qualifyBody, request.body ?? {});
    const { result, record } = await workbench.qualify(name, body.answers, actorOf(request), body.layer);
    return { vendor: name, id: record.id, ...result, by: record.qualifiedBy, at: new Date(record.qualifiedAt).toISOString() };
  });

  admin.get('/inventory/systems/:name/report', { config: { access: 'read' } }, async (request) => {
    const { name } = request.params as { name: string };
    const actor = actorOf(request);
    const view = await workbench.systemView(name, actor);
    const pack = view.blueprint ? blueprint(view.blueprint) : null;
    return {
      generated_at: new Date().toISOString(),
      system: view,
      blueprint: pack && { ...pack, systems_entry: systemsEntry(pack.id, view) },
      contract_checks: contractChecks
        ? { wired: true, data: await contractChecks(name, actor) }
        : { wired: false, data: [], note: 'The contract checker\'s store is not wired into this gateway; run covenant contract check.' },
      live: { models: liveModels(gateway, view.models as { name: string; alias?: string; version?: string }[]) },
    };
  });
}
