// `covenant inventory ...`: the AI inventory (systems, vendors, models, contracts, links) over /admin/inventory, with YAML import and export.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { inventoryKinds, type Endpoint, type InventoryKind } from '../sourcing/inventory.js';
import { parseInventoryYaml } from '../sourcing/inventory-yaml.js';
import { commandOutput, emitDocument, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface JsonOption extends GatewayClientOptions { json?: boolean }

interface AddOptions extends JsonOption {
  department?: string; owner?: string; purpose?: string; blueprint?: string; strategy?: string; riskTier?: string;
  euTier?: string; annexIii?: string; app17?: string; aedt?: boolean; layer?: string; services?: string; trainsOnData?: string;
  alias?: string; modelVersion?: string; vendor?: string; parties?: string; start?: string; end?: string; document?: string; data?: string;
}

/** `systems`, `system` or `sys`-less forms: the inventory kind a user typed. */
export function parseKind(text: string): InventoryKind {
  const plural = text.endsWith('s') ? text : `${text}s`;
  if (!(inventoryKinds as readonly string[]).includes(plural)) throw new InputError(`unknown kind "${text}" (one of system, vendor, model, contract)`);
  return plural as InventoryKind;
}

/** `system/claims-triage` or `system:claims-triage` → an endpoint. */
export function parseEndpoint(text: string): Endpoint {
  const match = /^([a-z]+)[/:](.+)$/.exec(text);
  if (!match) throw new InputError(`"${text}" is not KIND/NAME (e.g. system/claims-triage, vendor/acme-ai)`);
  return { kind: parseKind(match[1]!), name: match[2]! };
}

const list = (text: string | undefined) => text?.split(',').map((part) => part.trim()).filter(Boolean);
const yesNo = (text: string, flag: string): boolean => {
  if (/^(yes|y|true)$/i.test(text)) return true;
  if (/^(no|n|false)$/i.test(text)) return false;
  throw new InputError(`${flag} takes yes or no`);
};

/** The record the flags describe (only flags given), with --data JSON merged over it. */
export function recordFromFlags(kind: InventoryKind, name: string, options: AddOptions): Record<string, unknown> {
  const record: Record<string, unknown> = { name };
  const set = (field: string, value: unknown) => { if (value !== undefined) record[field] = value; };
  if (kind === 'systems') {
    set('department', options.department); set('owner', options.owner); set('purpose', options.purpose);
    set('blueprint', options.blueprint?.toUpperCase()); set('strategy', options.strategy?.toUpperCase()); set('risk_tier', options.riskTier);
    const regulatory: Record<string, unknown> = {};
    if (options.euTier !== undefined) regulatory.eu_ai_act = { tier: options.euTier, ...(options.annexIii ? { annex_iii_area: options.annexIii } : {}) };
    if (options.app17 !== undefined) {
      const flags = list(options.app17) ?? [];
      const unknown = flags.filter((flag) => !['significant_effect', 'personal_information'].includes(flag));
      if (unknown.length > 0) throw new InputError(`--app-1-7 takes significant_effect,personal_information (got ${unknown.join(', ')})`);
      regulatory.app_1_7 = { significant_effect: flags.includes('significant_effect'), personal_information: flags.includes('personal_information') };
    }
    if (options.aedt) regulatory.nyc_ll144_aedt = true;
    if (Object.keys(regulatory).length > 0) record.regulatory = regulatory;
  } else if (kind === 'vendors') {
    set('layer', options.layer); set('services', list(options.services));
    if (options.trainsOnData !== undefined) record.data_use = { trains_on_customer_data: yesNo(options.trainsOnData, '--trains-on-data') };
  } else if (kind === 'models') {
    set('alias', options.alias); set('version', options.modelVersion); set('vendor', options.vendor);
  } else {
    set('parties', list(options.parties)); set('vendor', options.vendor); set('start', options.start); set('end', options.end); set('document', options.document);
  }
  if (options.data !== undefined) {
    let extra: unknown;
    try {
      extra = JSON.parse(options.data);
    } catch {
      throw new InputError('--data is not valid JSON');
    }
    if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new InputError('--data must be a JSON object');
    Object.assign(record, extra);
  }
  return record;
}

const print = (output: CommandOutput, json: boolean | undefined, value: unknown, text: string) => output.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return `${rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`;
}

async function runList(kindText: string | undefined, options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const kinds = kindText ? [parseKind(kindText)] : [...inventoryKinds];
  const result: Record<string, Record<string, unknown>[]> = {};
  for (const kind of kinds) result[kind] = (await client.get<{ data: Record<string, unknown>[] }>(`/admin/inventory/${kind}`)).data;
  const describe = (kind: InventoryKind, item: Record<string, unknown>): string => {
    if (kind === 'systems') return `${item.department} · owner ${item.owner} · blueprint ${item.blueprint ?? '-'} · ${item.strategy ?? 'no decision'} · risk ${item.risk_tier}`;
    if (kind === 'vendors') return `${item.layer} · ${(item.services as string[]).join(', ') || 'no services listed'}`;
    if (kind === 'models') return `alias ${item.alias ?? '-'} · version ${item.version ?? '-'} · vendor ${item.vendor ?? '-'}`;
    return `${(item.parties as string[]).join(' / ')} · ${item.start ?? '?'} to ${item.end ?? '?'}`;
  };
  const text = kinds.map((kind) => {
    const items = result[kind]!;
    if (items.length === 0) return `${kind}: none\n`;
    return `${kind}:\n${table(items.map((item) => [`  ${String(item.name)}`, describe(kind, item)]))}`;
  }).join('');
  print(output, options.json, kindText ? result[kinds[0]!] : result, text);
  return exitCodes.ok;
}

async function runShow(kindText: string, name: string, options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const record = await client.get(`/admin/inventory/${parseKind(kindText)}/${encodeURIComponent(name)}`);
  output.stdout(`${JSON.stringify(record, null, 2)}\n`);
  return exitCodes.ok;
}

async function runAdd(kindText: string, name: string, options: AddOptions, output: CommandOutput): Promise<ExitCode> {
  const kind = parseKind(kindText);
  const record = recordFromFlags(kind, name, options);
  const client = connectGateway(options, output.environment);
  const stored = await client.put(`/admin/inventory/${kind}/${encodeURIComponent(name)}`, record);
  print(output, options.json, stored, `Recorded ${kind.slice(0, -1)} ${name} (ledger: inventory.changed).\n`);
  return exitCodes.ok;
}

async function runRemove(kindText: string, name: string, options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  const kind = parseKind(kindText);
  const client = connectGateway(options, output.environment);
  const result = await client.delete(`/admin/inventory/${kind}/${encodeURIComponent(name)}`);
  print(output, options.json, result, `Removed ${kind.slice(0, -1)} ${name} and its links.\n`);
  return exitCodes.ok;
}

async function runLink(from: string, to: string, options: JsonOption & { exception?: string }, output: CommandOutput): Promise<ExitCode> {
  const body = { from: parseEndpoint(from), to: parseEndpoint(to), ...(options.exception ? { exception: options.exception } : {}) };
  const client = connectGateway(options, output.environment);
  const link = await client.post<{ exception: { reason: string; by: string } | null }>('/admin/inventory/links', body);
  const note = link.exception ? ` with an exception granted by ${link.exception.by}: ${link.exception.reason}` : '';
  print(output, options.json, link, `Linked ${from} and ${to}${note}.\n`);
  return exitCodes.ok;
}

async function runUnlink(from: string, to: string, options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const result = await client.delete('/admin/inventory/links', { from: parseEndpoint(from), to: parseEndpoint(to) });
  print(output, options.json, result, `Unlinked ${from} and ${to}.\n`);
  return exitCodes.ok;
}

async function runImport(file: string, options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    parseInventoryYaml(text, file);
  } catch (error) {
    if (error instanceof ConfigError) throw new InputError(`the inventory file has errors:\n${error.message}`);
    throw error;
  }
  const client = connectGateway(options, output.environment);
  const result = await client.post<{ created: number; updated: number; links: number }>('/admin/inventory/import', { yaml: text, file });
  print(output, options.json, result, `Imported ${file}: ${result.created} created, ${result.updated} updated, ${result.links} links.\n`);
  return exitCodes.ok;
}

async function runExport(options: JsonOption & { out?: string }, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  let text: string;
  if (options.json) {
    text = `${JSON.stringify(await client.get('/admin/inventory/export?format=json'), null, 2)}\n`;
  } else {
    const stream = await client.download('/admin/inventory/export');
    text = await new Response(stream).text();
  }
  emitDocument(output, text, options.out);
  return exitCodes.ok;
}

export function registerInventoryCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const inventory = program.command('inventory').description('the AI inventory: systems, vendors, models, contracts and their links (/admin/inventory)');
  gatewayOptions(inventory.command('list [kind]').description('list systems, vendors, models and contracts (or one kind)'))
    .option('--json', 'print JSON')
    .action((kind: string | undefined, options: JsonOption) => runCommand(write, 'inventory list', () => runList(kind, options, write)));
  gatewayOptions(inventory.command('show <kind> <name>').description('one record as JSON (a system with its required clauses, vendors, decisions)'))
    .option('--json', 'print JSON (always)')
    .action((kind: string, name: string, options: JsonOption) => runCommand(write, 'inventory show', () => runShow(kind, name, options, write)));
  gatewayOptions(inventory.command('add <kind> <name>').description('create or replace a system, vendor, model or contract'))
    .option('--department <name>', 'system: its department (the gateway\'s department)')
    .option('--owner <text>', 'system: the accountable owner')
    .option('--purpose <text>', 'system: what it is for')
    .option('--blueprint <A-E>', 'system: its blueprint')
    .option('--strategy <BUILD|PARTNER|BUY|INVEST>', 'system: its sourcing strategy')
    .option('--risk-tier <low|medium|high>', 'system: its risk tier')
    .option('--eu-tier <prohibited|high|limited|minimal>', 'system: EU AI Act risk tier')
    .option('--annex-iii <area>', 'system: EU AI Act Annex III area (e.g. employment, essential_services)')
    .option('--app-1-7 <flags>', 'system: Australia APP 1.7 automated decision: significant_effect,personal_information')
    .option('--aedt', 'system: an NYC Local Law 144 automated employment decision tool')
    .option('--layer <layer>', 'vendor: foundation_model_provider, specialised_ai_vendor, data_enrichment_provider or system_integrator')
    .option('--services <list>', 'vendor: services, comma-separated')
    .option('--trains-on-data <yes|no>', 'vendor: whether its terms let it train on customer data')
    .option('--alias <alias>', 'model: the gateway alias')
    .option('--model-version <version>', 'model: the pinned upstream version')
    .option('--vendor <name>', 'model or contract: the vendor')
    .option('--parties <list>', 'contract: parties, comma-separated')
    .option('--start <date>', 'contract: start date (YYYY-MM-DD)')
    .option('--end <date>', 'contract: end date (YYYY-MM-DD)')
    .option('--document <path>', 'contract: where the signed document is')
    .option('--data <json>', 'more fields as a JSON object (e.g. clause parameters)')
    .option('--json', 'print the stored record as JSON')
    .action((kind: string, name: string, options: AddOptions) => runCommand(write, 'inventory add', () => runAdd(kind, name, options, write)));
  gatewayOptions(inventory.command('remove <kind> <name>').description('remove a record and its links'))
    .option('--json', 'print JSON')
    .action((kind: string, name: string, options: JsonOption) => runCommand(write, 'inventory remove', () => runRemove(kind, name, options, write)));
  gatewayOptions(inventory.command('link <from> <to>').description('link two records, e.g. system/claims-triage vendor/acme-ai'))
    .option('--exception <reason>', 'link a vendor that failed pre-qualification to a high-risk system anyway (recorded with your key\'s name)')
    .option('--json', 'print JSON')
    .action((from: string, to: string, options: JsonOption & { exception?: string }) => runCommand(write, 'inventory link', () => runLink(from, to, options, write)));
  gatewayOptions(inventory.command('unlink <from> <to>').description('remove the link between two records'))
    .option('--json', 'print JSON')
    .action((from: string, to: string, options: JsonOption) => runCommand(write, 'inventory unlink', () => runUnlink(from, to, options, write)));
  gatewayOptions(inventory.command('import <file>').description('create or replace every record and link of a YAML file'))
    .option('--json', 'print JSON')
    .action((file: string, options: JsonOption) => runCommand(write, 'inventory import', () => runImport(file, options, write)));
  gatewayOptions(inventory.command('export').description('the inventory as YAML (the import format)'))
    .option('--out <file>', 'write to a file')
    .option('--json', 'JSON instead of YAML')
    .action((options: JsonOption & { out?: string }) => runCommand(write, 'inventory export', () => runExport(options, write)));
}
