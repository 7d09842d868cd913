// `covenant weights verify|list|request|requests|deliver`: check exported weights (safetensors, ONNX), register them
// against a contract or system, and track portability requests to their contractual due date.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { isDate } from '../sourcing/business-days.js';
import { MalformedWeightsError, UnreadableWeightsError, verifyWeightsFile, type WeightsReport } from '../sourcing/weights-file.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface VerifyOptions extends GatewayClientOptions {
  json?: boolean;
  register?: boolean;
  contract?: string;
  system?: string;
}

interface RequestOptions extends GatewayClientOptions {
  contract: string;
  dueBusinessDays: string;
  requestedOn?: string;
  holidays?: string;
  holidaysFile?: string;
  system?: string;
  note?: string;
  json?: boolean;
}

/** A portability request as /admin/portability-requests answers it. */
export interface RequestLine {
  id: number;
  contract_id: string;
  system: string | null;
  status: 'open' | 'delivered' | 'overdue';
  requested_on: string;
  due_business_days: number;
  due_on: string;
  weights_id: number | null;
  delivered_at: string | null;
}

const count = (value: number): string => value.toLocaleString('en-US');

export function formatWeightsReport(report: WeightsReport): string {
  const lines = [`${report.path}: valid ${report.summary.format}, ${count(report.bytes)} bytes`, `  sha256      ${report.sha256}`];
  const summary = report.summary;
  if (summary.format === 'safetensors') {
    lines.push(`  tensors     ${summary.tensors.length}`);
    lines.push(`  dtypes      ${Object.entries(summary.dtypes).map(([dtype, tensors]) => `${dtype} (${tensors})`).join(', ') || '-'}`);
    lines.push(`  parameters  ${count(summary.parameters)}`);
    if (Object.keys(summary.metadata).length > 0) lines.push(`  metadata    ${Object.entries(summary.metadata).map(([key, value]) => `${key}=${value}`).join(', ')}`);
  } else {
    lines.push(`  ir_version  ${summary.irVersion}`);
    lines.push(`  producer    ${[summary.producer.name, summary.producer.version].filter(Boolean).join(' ') || '-'}`);
    lines.push(`  opsets      ${summary.opsetImports.map((opset) => `${opset.domain || 'ai.onnx'} ${opset.version}`).join(', ')}`);
    lines.push(`  initializers ${summary.initializers.length}, parameters ${count(summary.parameters)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function runVerify(path: string, options: VerifyOptions, output: CommandOutput): Promise<ExitCode> {
  if (options.register && !options.contract && !options.system) throw new InputError('--register needs --contract ID or --system NAME');
  if (!options.register && (options.contract || options.system)) throw new InputError('--contract and --system name what --register registers against; add --register');
  let report: WeightsReport;
  try {
    report = await verifyWeightsFile(path);
  } catch (error) {
    if (error instanceof UnreadableWeightsError) throw new InputError(error.message);
    if (error instanceof MalformedWeightsError) {
      output.stdout(options.json ? `${JSON.stringify({ path, valid: false, reason: error.message }, null, 2)}\n` : '');
      output.stderr(`covenant weights verify: ${path} is malformed: ${error.message}\n`);
      return exitCodes.breach;
    }
    throw error;
  }
  let registered: { id: number; delivered_requests: RequestLine[] } | undefined;
  if (options.register) {
    registered = await connectGateway(options, output.environment).post('/admin/weights', {
      path, format: report.summary.format, sha256: report.sha256, bytes: report.bytes, parameters: report.summary.parameters,
      summary: report.summary, contract_id: options.contract ?? null, system: options.system ?? null,
    });
  }
  if (options.json) {
    output.stdout(`${JSON.stringify({ valid: true, ...report, ...(registered ? { registered } : {}) }, null, 2)}\n`);
  } else {
    output.stdout(formatWeightsReport(report));
    if (registered) {
      output.stdout(`Registered as weights ${registered.id} against ${options.contract ? `contract ${options.contract}` : `system ${options.system}`}.\n`);
      for (const request of registered.delivered_requests) output.stdout(`Delivered portability request ${request.id} (due ${request.due_on}).\n`);
    }
  }
  return exitCodes.ok;
}

function holidaysOf(options: RequestOptions): string[] {
  const days = (options.holidays ?? '').split(',').map((day) => day.trim()).filter(Boolean);
  if (options.holidaysFile) {
    let text: string;
    try {
      text = readFileSync(options.holidaysFile, 'utf8');
    } catch (error) {
      throw new InputError(`--holidays-file ${options.holidaysFile}: ${(error as Error).message}`);
    }
    days.push(...text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean));
  }
  const bad = days.find((day) => !isDate(day));
  if (bad) throw new InputError(`holiday "${bad}" is not a date (YYYY-MM-DD)`);
  return days;
}

async function runRequest(options: RequestOptions, output: CommandOutput): Promise<ExitCode> {
  const due = Number(options.dueBusinessDays);
  if (!Number.isInteger(due) || due < 0) throw new InputError(`--due-business-days "${options.dueBusinessDays}" is not a whole number`);
  if (options.requestedOn !== undefined && !isDate(options.requestedOn)) throw new InputError(`--requested-on "${options.requestedOn}" is not a date (YYYY-MM-DD)`);
  const created = await connectGateway(options, output.environment).post<RequestLine>('/admin/portability-requests', {
    contract_id: options.contract, due_business_days: due, requested_on: options.requestedOn, holidays: holidaysOf(options),
    system: options.system ?? null, note: options.note ?? null,
  });
  output.stdout(options.json ? `${JSON.stringify(created, null, 2)}\n`
    : `Portability request ${created.id} for contract ${created.contract_id}: requested ${created.requested_on}, due ${created.due_on} (${created.due_business_days} business days).\n`);
  return exitCodes.ok;
}

export function formatRequestTable(requests: readonly RequestLine[]): string {
  if (requests.length === 0) return 'No portability request.\n';
  const header = ['ID', 'CONTRACT', 'SYSTEM', 'STATUS', 'REQUESTED', 'DUE', 'WEIGHTS'];
  const rows = requests.map((line) => [String(line.id), line.contract_id, line.system ?? '-', line.status, line.requested_on, line.due_on, line.weights_id === null ? '-' : String(line.weights_id)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

async function runRequests(options: GatewayClientOptions & { status?: string; contract?: string; json?: boolean }, output: CommandOutput): Promise<ExitCode> {
  const query = new URLSearchParams();
  if (options.status) query.set('status', options.status);
  if (options.contract) query.set('contract_id', options.contract);
  const { data } = await connectGateway(options, output.environment).get<{ data: RequestLine[] }>(`/admin/portability-requests${query.size > 0 ? `?${query}` : ''}`);
  output.stdout(options.json ? `${JSON.stringify(data, null, 2)}\n` : formatRequestTable(data));
  // An overdue request is a contract breach.
  return data.some((line) => line.status === 'overdue') ? exitCodes.breach : exitCodes.ok;
}

export function registerWeightsCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const weights = program.command('weights').description('verify exported weights and track portability requests');
  gatewayOptions(weights
    .command('verify <path>')
    .description('check a safetensors or ONNX file\'s structure and print its tensors and SHA-256 (exit 1 when malformed)'))
    .option('--json', 'print the report as JSON')
    .option('--register', 'register the verified artifact on the running gateway (POST /admin/weights)')
    .option('--contract <id>', 'the contract it is delivered under (delivers that contract\'s open portability requests)')
    .option('--system <name>', 'the inventory system it belongs to')
    .action((path: string, options: VerifyOptions) => runCommand(write, 'weights verify', () => runVerify(path, options, write)));
  gatewayOptions(weights
    .command('list')
    .description('registered weight artifacts (GET /admin/weights)'))
    .option('--json', 'print the JSON list')
    .action((options: GatewayClientOptions & { json?: boolean }) => runCommand(write, 'weights list', async () => {
      const { data } = await connectGateway(options, write.environment).get<{ data: { id: number; format: string; sha256: string; parameters: number; contract_id: string | null; system: string | null; path: string }[] }>('/admin/weights');
      write.stdout(options.json ? `${JSON.stringify(data, null, 2)}\n` : data.length === 0 ? 'No registered weights.\n'
        : `${data.map((line) => `${line.id}  ${line.format}  ${line.sha256.slice(0, 16)}  ${count(line.parameters)} parameters  ${line.contract_id ?? line.system ?? '-'}  ${line.path}`).join('\n')}\n`);
      return exitCodes.ok;
    }));
  gatewayOptions(weights
    .command('request')
    .description('open a portability request: the vendor must deliver the weights within N business days'))
    .requiredOption('--contract <id>', 'the contract whose weights are requested')
    .requiredOption('--due-business-days <n>', 'business days the contract allows (weekends and holidays do not count)')
    .option('--requested-on <date>', 'the day the request was made, YYYY-MM-DD (default: today, UTC)')
    .option('--holidays <dates>', 'comma-separated holidays that are not business days')
    .option('--holidays-file <path>', 'a file of holidays, one YYYY-MM-DD a line')
    .option('--system <name>', 'the inventory system it concerns')
    .option('--note <text>', 'a note kept with the request')
    .option('--json', 'print the JSON record')
    .action((options: RequestOptions) => runCommand(write, 'weights request', () => runRequest(options, write)));
  gatewayOptions(weights
    .command('requests')
    .description('portability requests and their status: open, delivered, overdue (exit 1 when one is overdue)'))
    .option('--status <status>', 'only open, delivered or overdue ones')
    .option('--contract <id>', 'only this contract\'s')
    .option('--json', 'print the JSON list')
    .action((options: GatewayClientOptions & { status?: string; contract?: string; json?: boolean }) => runCommand(write, 'weights requests', () => runRequests(options, write)));
  gatewayOptions(weights
    .command('deliver <request>')
    .description('mark a portability request delivered by a registered artifact'))
    .requiredOption('--weights <id>', 'the registered artifact (covenant weights verify --register)')
    .option('--json', 'print the JSON record')
    .action((request: string, options: GatewayClientOptions & { weights: string; json?: boolean }) => runCommand(write, 'weights deliver', async () => {
      const delivered = await connectGateway(options, write.environment).post<RequestLine>(`/admin/portability-requests/${encodeURIComponent(request)}/deliver`, { weights_id: Number(options.weights) });
      write.stdout(options.json ? `${JSON.stringify(delivered, null, 2)}\n` : `Portability request ${delivered.id} delivered by weights ${delivered.weights_id}.\n`);
      return exitCodes.ok;
    }));
}
