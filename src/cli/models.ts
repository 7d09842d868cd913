// `covenant models list|show|history|stage|promote|rollback|ack|mock`: the model registry of a running gateway and the moves people make.
import type { Command } from 'commander';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClient, type GatewayClientOptions } from './gateway-client.js';

interface JsonOption extends GatewayClientOptions {
  json?: boolean;
}

interface MoveOptions extends JsonOption {
  reason?: string;
}

interface StageOptions extends MoveOptions {
  version: string;
  provider?: string;
  inputPrice?: string;
  outputPrice?: string;
}

interface MockOptions extends JsonOption {
  fingerprint?: string;
  model?: string;
  variant?: string;
  latencyMs?: string;
  outputTokens?: string;
  reset?: boolean;
  version?: string;
}

/** An alias as GET /admin/models lists it. */
interface AliasLine {
  alias: string;
  active: string;
  candidate: string | null;
  rollback_to: string | null;
  blocked: Record<string, unknown> | null;
  on_silent_change: string;
  on_drift: string;
  warnings: string[];
  contract?: unknown;
  versions: Record<string, unknown>[];
}

/** Columns padded to their widest cell. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const path = (alias: string, tail = '') => `/admin/models/${encodeURIComponent(alias)}${tail}`;

export function formatAliasTable(aliases: readonly AliasLine[]): string {
  if (aliases.length === 0) return 'The registry has no model alias.\n';
  const rows = aliases.map((line) => [
    line.alias, line.active, line.candidate ?? '-', line.rollback_to ?? '-', line.blocked ? 'BLOCKED' : 'serving', line.on_silent_change, String(line.versions.length),
  ]);
  const warnings = aliases.flatMap((line) => line.warnings).map((warning) => `warning: ${warning}\n`).join('');
  return table(['ALIAS', 'ACTIVE', 'CANDIDATE', 'ROLLBACK TO', 'STATE', 'ON CHANGE', 'VERSIONS'], rows) + warnings;
}

export function formatAlias(line: AliasLine, drift: unknown): string {
  const lines = [
    `${line.alias}: serving ${line.active}${line.candidate ? `, candidate ${line.candidate}` : ''}${line.rollback_to ? `, rollback to ${line.rollback_to}` : ''}`,
    `on_silent_change: ${line.on_silent_change}   on_drift: ${line.on_drift}`,
  ];
  if (line.blocked) {
    const blocked = line.blocked;
    lines.push(`BLOCKED since ${String(blocked.since)}: ${String(blocked.changed)} ${(blocked.before as string[] | undefined)?.join(', ')} -> ${String(blocked.after)}; run covenant models ack ${line.alias}`);
  }
  for (const warning of line.warnings) lines.push(`warning: ${warning}`);
  lines.push('');
  const rows = line.versions.map((version) => [
    String(version.version), String(version.status), String(version.provider), String(version.calls), String(version.first_seen),
    String(version.last_seen ?? '-'), [...(version.fingerprints as string[] ?? []), ...(version.model_ids as string[] ?? [])].join(' ') || '-',
  ]);
  let text = `${lines.join('\n')}\n${table(['VERSION', 'STATUS', 'PROVIDER', 'CALLS', 'FIRST SEEN', 'LAST SEEN', 'SEEN (FINGERPRINTS, MODEL IDS)'], rows)}`;
  if (drift !== undefined) text += `\nlive drift:\n${JSON.stringify(drift, null, 2)}\n`;
  return text;
}

function formatHistory(moves: readonly Record<string, unknown>[]): string {
  if (moves.length === 0) return 'No moves.\n';
  return table(['#', 'AT', 'ACTION', 'FROM', 'TO', 'BY', 'DETAIL'], moves.map((move) => [
    String(move.id), String(move.at), String(move.action), String(move.from_version ?? '-'), String(move.to_version ?? '-'), String(move.by),
    move.detail === undefined ? '' : JSON.stringify(move.detail),
  ]));
}

/** The live drift status, when the gateway has the route (it answers 404 where it has none, or no data yet). */
async function driftStatus(client: GatewayClient, alias: string): Promise<unknown> {
  try {
    return await client.get(path(alias, '/drift'));
  } catch (error) {
    if (error instanceof InputError && /HTTP 404/.test(error.message)) return undefined;
    throw error;
  }
}

function price(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new InputError(`${option} must be dollars per million tokens, e.g. 0.15`);
  return value;
}

function whole(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InputError(`${option} must be a whole number`);
  return value;
}

async function runMove(action: 'promote' | 'rollback' | 'ack', alias: string, options: MoveOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const result = await client.post<Record<string, unknown>>(path(alias, `/${action}`), options.reason ? { reason: options.reason } : {});
  const said = action === 'ack'
    ? `Acknowledged the change behind ${alias} (${String(result.to_version)}); it serves again.`
    : `${alias}: ${String(result.from_version)} -> ${String(result.to_version)} (${String(result.action)} by ${String(result.by)}); served from the next request.`;
  output.stdout(options.json ? json(result) : `${said}\n`);
  return exitCodes.ok;
}

export function registerModelCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const models = program.command('models').description('the model registry: versions, silent changes, staging, promotion, rollback (GET /admin/models)');
  gatewayOptions(models.command('list').description('every alias: the version it serves, its candidate, whether it is blocked, contract warnings'))
    .option('--json', 'print the JSON list')
    .action((options: JsonOption) => runCommand(write, 'models list', async () => {
      const { data } = await connectGateway(options, write.environment).get<{ data: AliasLine[] }>('/admin/models');
      write.stdout(options.json ? json(data) : formatAliasTable(data));
      return exitCodes.ok;
    }));
  gatewayOptions(models.command('show <alias>').description('one alias: its versions, fingerprints seen, contract, and live drift when the gateway reports it'))
    .option('--json', 'print the JSON record')
    .action((alias: string, options: JsonOption) => runCommand(write, 'models show', async () => {
      const client = connectGateway(options, write.environment);
      const line = await client.get<AliasLine>(path(alias));
      const drift = await driftStatus(client, alias);
      write.stdout(options.json ? json({ ...line, ...(drift === undefined ? {} : { drift }) }) : formatAlias(line, drift));
      return exitCodes.ok;
    }));
  gatewayOptions(models.command('history <alias>').description('every move of an alias, oldest first: config pins, stages, promotions, rollbacks, acks, detected changes'))
    .option('--json', 'print the JSON list')
    .action((alias: string, options: JsonOption) => runCommand(write, 'models history', async () => {
      const { data } = await connectGateway(options, write.environment).get<{ data: Record<string, unknown>[] }>(path(alias, '/history'));
      write.stdout(options.json ? json(data) : formatHistory(data));
      return exitCodes.ok;
    }));
  gatewayOptions(models.command('stage <alias>').description('add a candidate version (shadow traffic goes to it when the alias has shadow:)'))
    .requiredOption('--version <id>', 'the upstream model id')
    .option('--provider <name>', 'a configured provider (default: the alias\'s)')
    .option('--input-price <usd>', 'dollars per million input tokens (default: the built-in table, else the alias\'s price)')
    .option('--output-price <usd>', 'dollars per million output tokens')
    .option('--reason <text>', 'why (recorded in the evidence ledger)')
    .option('--json', 'print the JSON result')
    .action((alias: string, options: StageOptions) => runCommand(write, 'models stage', async () => {
      const input = price(options.inputPrice, '--input-price');
      const outputPrice = price(options.outputPrice, '--output-price');
      if ((input === undefined) !== (outputPrice === undefined)) throw new InputError('give both --input-price and --output-price, or neither');
      const body = {
        version: options.version, ...(options.provider ? { provider: options.provider } : {}), ...(options.reason ? { reason: options.reason } : {}),
        ...(input !== undefined ? { price: { input_per_mtok: input, output_per_mtok: outputPrice } } : {}),
      };
      const result = await connectGateway(options, write.environment).post<Record<string, unknown>>(path(alias, '/stage'), body);
      write.stdout(options.json ? json(result) : `Staged ${String(result.to_version)} as the candidate of ${alias} (serving ${String(result.from_version)}); promote it with covenant models promote ${alias}\n`);
      return exitCodes.ok;
    }));
  for (const [action, description] of [
    ['promote', 'make the staged candidate the version served, on every replica from the next request'],
    ['rollback', 'return to the last known-stable version, on every replica from the next request'],
    ['ack', 'acknowledge a silent change: a blocked alias serves again'],
  ] as const) {
    gatewayOptions(models.command(`${action} <alias>`).description(description))
      .option('--reason <text>', 'why (recorded in the evidence ledger)')
      .option('--json', 'print the JSON result')
      .action((alias: string, options: MoveOptions) => runCommand(write, `models ${action}`, () => runMove(action, alias, options, write)));
  }
  gatewayOptions(models.command('mock <provider>').description('change a mock provider\'s behaviour at run time (POST /admin/mock/:provider), for demos and tests'))
    .option('--fingerprint <text>', 'the system_fingerprint answers report')
    .option('--model <id>', 'the model id answers report')
    .option('--variant <name>', 'default, alternate (worded differently) or refusal')
    .option('--latency-ms <n>', 'delay before each answer')
    .option('--output-tokens <n>', 'answer length')
    .option('--version <id>', 'change only calls for this model id (one version updated silently)')
    .option('--reset', 'back to the configured behaviour first')
    .option('--json', 'print the JSON result')
    .action((provider: string, options: MockOptions) => runCommand(write, 'models mock', async () => {
      const body = Object.fromEntries(Object.entries({
        fingerprint: options.fingerprint, model: options.model, variant: options.variant, latency_ms: whole(options.latencyMs, '--latency-ms'),
        output_tokens: whole(options.outputTokens, '--output-tokens'), version: options.version, reset: options.reset,
      }).filter(([, value]) => value !== undefined));
      if (Object.keys(body).length === 0) throw new InputError('say what to change: --fingerprint, --model, --variant, --latency-ms, --output-tokens or --reset');
      const result = await connectGateway(options, write.environment).post<Record<string, unknown>>(`/admin/mock/${encodeURIComponent(provider)}`, body);
      write.stdout(options.json ? json(result) : `Mock ${provider} now: ${Object.entries(result).filter(([key, value]) => key !== 'provider' && value !== null).map(([key, value]) => `${key}=${String(value)}`).join(' ') || 'as configured'}\n`);
      return exitCodes.ok;
    }));
}
