// `covenant contract check FILE`: which required clauses a draft contract has, lacks, or states weaker than required.
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { blueprintClauses, clauseIds, defaultRequirements, type BlueprintId, type ClauseId, type ClauseRequirement } from '../sourcing/clause-ids.js';
import { checkContract, type ClauseFinding, type ContractCheck } from '../sourcing/contract-check.js';
import { contractPolicy, effectiveDate } from '../sourcing/contract-policy.js';
import { readContractDocument, UnreadableDocumentError, type ContractDocument } from '../sourcing/documents.js';
import { isDate } from '../sourcing/business-days.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface CheckOptions extends GatewayClientOptions {
  blueprint?: string;
  system?: string;
  contract?: string;
  json?: boolean;
  emitPolicy?: boolean;
  model?: string;
  start?: string;
  record?: boolean;
}

/** What GET /admin/inventory/systems/:name answers, as far as the checker reads it. */
interface InventorySystem {
  name: string;
  department?: string | null;
  blueprint?: string | null;
  required_clauses?: string[] | null;
  clause_requirements?: Partial<Record<ClauseId, ClauseRequirement[]>> | null;
}

const blueprints = Object.keys(blueprintClauses) as BlueprintId[];

function blueprintOf(value: string | null | undefined, where: string): BlueprintId | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const upper = value.toUpperCase() as BlueprintId;
  if (!blueprints.includes(upper)) throw new InputError(`${where}: unknown blueprint "${value}" (one of ${blueprints.join(', ')})`);
  return upper;
}

/** The clauses to check and how strong each must be: the blueprint's, the system's, both, or every known clause. */
async function requirementsFor(options: CheckOptions, output: CommandOutput) {
  const named = blueprintOf(options.blueprint, '--blueprint');
  let system: InventorySystem | undefined;
  if (options.system !== undefined) {
    system = await connectGateway(options, output.environment).get<InventorySystem>(`/admin/inventory/systems/${encodeURIComponent(options.system)}`);
  }
  const systemBlueprint = blueprintOf(system?.blueprint, `system "${options.system}"`);
  const required = new Set<ClauseId>();
  for (const blueprint of [named, systemBlueprint]) if (blueprint) for (const id of blueprintClauses[blueprint]) required.add(id);
  for (const id of system?.required_clauses ?? []) {
    if (!(clauseIds as readonly string[]).includes(id)) throw new InputError(`system "${options.system}" requires an unknown clause "${id}"`);
    required.add(id as ClauseId);
  }
  const all = !named && !system;
  const ordered = clauseIds.filter((id) => all || required.has(id));
  return {
    required: ordered, blueprint: named ?? systemBlueprint ?? null, system: system?.name ?? null, department: system?.department ?? null,
    requirements: { ...defaultRequirements, ...(system?.clause_requirements ?? {}) },
  };
}

const marks: Record<ClauseFinding['status'], string> = { present: 'PRESENT', missing: 'MISSING', weaker: 'WEAKER ' };

export function formatContractCheck(file: string, check: ContractCheck, against: string): string {
  const lines = [`${file}: ${check.required.length} clauses required (${against})`];
  for (const finding of check.findings) {
    lines.push(`  ${marks[finding.status]}  ${finding.clause} (${finding.title})`);
    if (finding.passage) lines.push(`      "${finding.passage.quote}"`, `      at ${finding.passage.location}`);
    for (const problem of finding.problems) lines.push(`      - ${problem}`);
    for (const contrary of finding.status === 'missing' ? finding.contrary : []) lines.push(`      says the opposite: "${contrary.quote}" (${contrary.location})`);
  }
  if (check.alsoFound.length > 0) lines.push(`  also found: ${check.alsoFound.join(', ')}`);
  lines.push(check.passed
    ? 'Every required clause is present and as strong as required.'
    : `${check.missing.length} missing, ${check.weaker.length} weaker than required.`);
  return `${lines.join('\n')}\n`;
}

async function read(file: string): Promise<ContractDocument> {
  try {
    return await readContractDocument(file);
  } catch (error) {
    if (error instanceof UnreadableDocumentError) throw new InputError(error.message);
    throw error;
  }
}

async function runCheck(file: string, options: CheckOptions, output: CommandOutput): Promise<ExitCode> {
  if (options.start !== undefined && !isDate(options.start)) throw new InputError(`--start "${options.start}" is not a date (YYYY-MM-DD)`);
  const document = await read(file);
  const { required, blueprint, system, department, requirements } = await requirementsFor(options, output);
  const check = checkContract(document.blocks, required, requirements);
  const sha256 = createHash('sha256').update(document.bytes).digest('hex');
  const start = options.start ?? effectiveDate(document.text) ?? new Date().toISOString().slice(0, 10);
  const alias = options.model ?? system ?? 'model';
  const policy = { models: { [alias]: { contract: contractPolicy(check.findings, start) } } };
  const result = { file, format: document.format, sha256, blueprint, system, contract_id: options.contract ?? null, ...check };
  let recorded: { id: number } | undefined;
  if (options.record) {
    recorded = await connectGateway(options, output.environment).post<{ id: number }>('/admin/contract-checks', {
      file, sha256, format: document.format, blueprint, system, contract_id: options.contract ?? null, passed: check.passed,
      missing: check.missing, weaker: check.weaker, result,
      // A system's check belongs to its department, so that department's admin keys see it in the system's report.
      ...(department ? { department } : {}),
    });
  }
  if (options.json) {
    output.stdout(`${JSON.stringify({ ...result, ...(options.emitPolicy ? { policy } : {}), ...(recorded ? { recorded_id: recorded.id } : {}) }, null, 2)}\n`);
  } else if (options.emitPolicy) {
    output.stdout(`# From ${file} (contract support starts ${start}); merge under your config's models:\n${stringify(policy)}`);
    output.stderr(check.passed ? `${file}: every required clause present\n` : `${file}: ${check.missing.length} missing, ${check.weaker.length} weaker (run without --emit-policy for details)\n`);
  } else {
    const against = blueprint ? `blueprint ${blueprint}${system ? `, system ${system}` : ''}` : system ? `system ${system}` : 'every known clause';
    output.stdout(formatContractCheck(file, check, against));
    if (recorded) output.stdout(`Recorded as contract check ${recorded.id}.\n`);
  }
  return check.passed ? exitCodes.ok : exitCodes.breach;
}

export function registerContractCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const contract = program.command('contract').description('check contracts for the clauses their blueprint or system requires');
  gatewayOptions(contract
    .command('check <file>')
    .description('find each required clause in a .md, .txt, .docx or .pdf contract: present, missing or weaker (exit 1 unless all present)'))
    .option('--blueprint <id>', `the blueprint whose clauses are required (${blueprints.join(', ')})`)
    .option('--system <name>', 'the inventory system whose clauses are required (GET /admin/inventory/systems/:name on the gateway)')
    .option('--contract <id>', 'the contract this file is (recorded with the check)')
    .option('--json', 'print the whole check as JSON')
    .option('--emit-policy', 'print the Covenant config (models.<alias>.contract) from the parameters found')
    .option('--model <alias>', 'the model alias --emit-policy writes (default: the system name, else "model")')
    .option('--start <date>', 'when the support period starts, YYYY-MM-DD (default: the contract\'s effective date, else today)')
    .option('--record', 'record the check on the running gateway (POST /admin/contract-checks)')
    .action((file: string, options: CheckOptions) => runCommand(write, 'contract check', () => runCheck(file, options, write)));
}
