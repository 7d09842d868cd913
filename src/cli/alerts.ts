// `covenant alerts`: every alert the gateway fired (GET /admin/alerts): budgets, agent sessions, reviews, systems, models, drift.
import { InvalidArgumentError, type Command } from 'commander';
import { alertListKinds } from '../gateway/routes/alert-list.js';
import { commandOutput, exitCodes, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

/** The fields of a GET /admin/alerts entry the table shows (each kind adds its own). */
export interface AlertLine {
  id: number | string;
  kind: string;
  time: string;
  scope?: string;
  department?: string | null;
  subject?: string;
  session?: string;
  message?: string;
  threshold?: number;
  webhook: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
}

interface AlertsOptions extends GatewayClientOptions {
  kind?: string;
  since?: string;
  scope?: string;
  limit?: string;
  json?: boolean;
}

/** What an alert is about: a budget's scope, a session, a decision, a system or an alias. */
function aboutOf(line: AlertLine): string {
  return line.scope ?? line.session ?? line.subject ?? '-';
}

/** Where it belongs: its department, `org` for organisation-wide ones, else its budget scope says it. */
function departmentOf(line: AlertLine): string {
  if (line.department === null) return 'org';
  return line.department ?? '-';
}

function deliveryOf(line: AlertLine): string {
  if (line.status === 'none') return 'none';
  const attempts = `${line.attempts} attempt${line.attempts === 1 ? '' : 's'}`;
  return `${line.status} (${attempts}${line.last_error && line.status !== 'delivered' ? `, ${line.last_error}` : ''})`;
}

/** Columns padded to their widest cell, newest first as the gateway lists them. */
export function formatAlertTable(alerts: readonly AlertLine[]): string {
  if (alerts.length === 0) return 'No alerts.\n';
  const header = ['TIME', 'KIND', 'DEPARTMENT', 'ABOUT', 'WEBHOOK', 'DELIVERY'];
  const rows = alerts.map((line) => [line.time, line.kind, departmentOf(line), aboutOf(line), line.webhook ?? '-', deliveryOf(line)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

function kindOption(value: string): string {
  const unknown = value.split(',').map((kind) => kind.trim()).find((kind) => !alertListKinds.includes(kind));
  if (unknown !== undefined) throw new InvalidArgumentError(`"${unknown}" is not an alert kind: use ${alertListKinds.join(', ')}.`);
  return value;
}

function limitOption(value: string): string {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new InvalidArgumentError(`"${value}" is not a whole number from 1 to 10000.`);
  return value;
}

async function runAlerts(options: AlertsOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const parameters = new URLSearchParams();
  for (const name of ['kind', 'since', 'scope', 'limit'] as const) {
    const value = options[name];
    if (value !== undefined) parameters.set(name, value);
  }
  const query = parameters.size > 0 ? `?${parameters}` : '';
  const { data } = await client.get<{ data: AlertLine[] }>(`/admin/alerts${query}`);
  output.stdout(options.json ? `${JSON.stringify(data, null, 2)}\n` : formatAlertTable(data));
  return exitCodes.ok;
}

export function registerAlertCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  gatewayOptions(program
    .command('alerts')
    .description('list the alerts fired, newest first, with their webhook delivery (GET /admin/alerts)'))
    .option('--kind <kinds>', `only these kinds, comma-separated (${alertListKinds.join(', ')})`, kindOption)
    .option('--since <time>', 'only alerts since an ISO 8601 time or date, or a span back from now (30m, 24h, 7d)')
    .option('--scope <scope>', 'budget alerts of one scope only, e.g. department:claims or key:ID')
    .option('--limit <n>', 'at most this many (default 100)', limitOption)
    .option('--json', 'print the JSON list')
    .action((options: AlertsOptions) => runCommand(write, 'alerts', () => runAlerts(options, write)));
}
