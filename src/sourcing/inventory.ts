// The AI inventory's records (systems, vendors, models, contracts, links) as zod schemas: one shape for the API, the CLI and YAML files.
import { z } from 'zod';
import { clauseIds } from './clause-ids.js';

const name = z.string().trim().min(1).max(200).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, ".", "_", ":" and "-", starting with a letter or digit');
const text = z.string().trim().max(4000);

export const inventoryKinds = ['systems', 'vendors', 'models', 'contracts'] as const;
export type InventoryKind = (typeof inventoryKinds)[number];

export const blueprintSchema = z.enum(['A', 'B', 'C', 'D', 'E']);
export const strategySchema = z.enum(['BUILD', 'PARTNER', 'BUY', 'INVEST']);
export const riskTierSchema = z.enum(['low', 'medium', 'high']);
export const vendorLayers = ['foundation_model_provider', 'specialised_ai_vendor', 'data_enrichment_provider', 'system_integrator'] as const;
export const layerSchema = z.enum(vendorLayers);
export type VendorLayer = z.infer<typeof layerSchema>;

/** EU AI Act risk tiers (Art. 5 prohibited, Art. 6 and Annex III high-risk, Art. 50 transparency, minimal). */
export const euTierSchema = z.enum(['prohibited', 'high', 'limited', 'minimal']);
/** Annex III's eight areas of high-risk use. */
export const annexAreas = [
  'biometrics', 'critical_infrastructure', 'education', 'employment', 'essential_services', 'law_enforcement', 'migration', 'justice',
] as const;

export const regulatorySchema = z.strictObject({
  eu_ai_act: z.strictObject({ tier: euTierSchema, annex_iii_area: z.enum(annexAreas).optional() }).optional(),
  /** Australia, APP 1.7: a computer program makes or substantially assists a decision with a significant effect, using personal information. */
  app_1_7: z.strictObject({ significant_effect: z.boolean(), personal_information: z.boolean() }).optional(),
  /** New York City Local Law 144: an automated employment decision tool (needs a yearly independent bias audit). */
  nyc_ll144_aedt: z.boolean().optional(),
});

export const systemSchema = z.strictObject({
  name,
  owner: text.min(1),
  department: name,
  purpose: text.optional(),
  blueprint: blueprintSchema.optional(),
  strategy: strategySchema.optional(),
  risk_tier: riskTierSchema.default('medium'),
  regulatory: regulatorySchema.default({}),
  /** Clauses this system's contracts must contain beyond its blueprint's. */
  required_clauses: z.array(z.enum(clauseIds)).optional(),
});

export const vendorSchema = z.strictObject({
  name,
  layer: layerSchema,
  services: z.array(text.min(1)).default([]),
  /** What the vendor may do with the customer's data (prompts, logs, outputs). */
  data_use: z.strictObject({
    trains_on_customer_data: z.boolean().optional(),
    retention_days: z.number().int().min(0).optional(),
    terms_url: z.string().url().optional(),
    notes: text.optional(),
  }).default({}),
  contact: text.optional(),
});

export const modelSchema = z.strictObject({
  name,
  /** The gateway's model alias (the config's models[].alias). */
  alias: name.optional(),
  /** The pinned upstream version. */
  version: text.optional(),
  vendor: name.optional(),
  task: text.optional(),
  description: text.optional(),
});

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2026-01-31');

export const contractSchema = z.strictObject({
  name,
  parties: z.array(text.min(1)).min(1),
  vendor: name.optional(),
  start: date.optional(),
  end: date.optional(),
  document: text.optional(),
  /** Clause parameters as signed, e.g. { change_notice: { notice_days: 60 } }. */
  clauses: z.partialRecord(z.enum(clauseIds), z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]))).default({}),
});

export const inventorySchemas = { systems: systemSchema, vendors: vendorSchema, models: modelSchema, contracts: contractSchema } as const;

export type SystemRecord = z.infer<typeof systemSchema>;
export type VendorRecord = z.infer<typeof vendorSchema>;
export type ModelRecord = z.infer<typeof modelSchema>;
export type ContractRecord = z.infer<typeof contractSchema>;
export type InventoryRecord = SystemRecord | VendorRecord | ModelRecord | ContractRecord;

export const endpointSchema = z.strictObject({ kind: z.enum(inventoryKinds), name });
export type Endpoint = z.infer<typeof endpointSchema>;

/** A link between two records, e.g. a system uses a vendor, model or contract. */
export const linkSchema = z.strictObject({
  from: endpointSchema,
  to: endpointSchema,
  /** Why a vendor that failed pre-qualification may serve a high-risk system anyway (recorded with who granted it). */
  exception: text.min(1).optional(),
});

/** The whole inventory as one YAML file holds it (import and export). */
export const inventoryFileSchema = z.strictObject({
  systems: z.array(systemSchema).default([]),
  vendors: z.array(vendorSchema).default([]),
  models: z.array(modelSchema).default([]),
  contracts: z.array(contractSchema).default([]),
  links: z.array(linkSchema).default([]),
});
export type InventoryFile = z.infer<typeof inventoryFileSchema>;

/** A stored record: what it holds and who changed it last. */
export interface StoredItem<T = InventoryRecord> {
  kind: InventoryKind;
  name: string;
  /** Systems: their department; other kinds: null (organisation-wide). */
  department: string | null;
  data: T;
  updatedAt: number;
  updatedBy: string;
}

export interface StoredLink {
  from: Endpoint;
  to: Endpoint;
  exception: { reason: string; by: string; at: number } | null;
  createdAt: number;
  createdBy: string;
}

/** A system is high-risk when its own risk tier or its EU AI Act tier says so. */
export function isHighRisk(system: SystemRecord): boolean {
  return system.risk_tier === 'high' || system.regulatory.eu_ai_act?.tier === 'high' || system.regulatory.eu_ai_act?.tier === 'prohibited';
}
