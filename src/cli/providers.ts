// `covenant providers scorecard`: the gateway's GET /admin/providers/scorecard as an aligned table, or as JSON for scripts.
import { InvalidArgumentError, type Command } from 'commander';
import type { Percentiles, ScorecardRow } from '../core/provider-scorecard.js';
import { commandOutput, exitCodes, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface ScorecardCommandOptions extends GatewayClientOptions {
  since?: string;
  json?: boolean;
}

/** What GET /admin/providers/scorecard answers. */
export interface ScorecardReport {
  since: string;
  until: string;
  department: string | null;
  percentile_method: string;
  providers: ScorecardRow[];
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function milliseconds(values: Percentiles | null, which: keyof Percentiles): string {
  return values === null ? '-' : `${Math.round(values[which])} ms`;
}

function perMillion(value: number | null): string {
  return value === null ? '-' : `$${value.toFixed(4)}`;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function formatScorecardTable(report: ScorecardReport): string {
  const window = `From ${report.since} to ${report.until}${report.department === null ? '' : ` (department ${report.department})`}.\n`;
  if (report.providers.length === 0) return `${window}No requests reached a provider in this window.\n`;
  const header = ['PROVIDER', 'MODEL VERSION', 'REQUESTS', 'ERRORS', 'REFUSED', 'TTFT P50', 'TTFT P95', 'LATENCY P50', 'LATENCY P95', '$/M IN', '$/M OUT'];
  const rows = report.providers.map((row) => [
    row.provider, row.model_version, String(row.requests), percent(row.error_rate), percent(row.refusal_rate),
    milliseconds(row.ttft_ms, 'p50'), milliseconds(row.ttft_ms, 'p95'), milliseconds(row.latency_ms, 'p50'), milliseconds(row.latency_ms, 'p95'),
    perMillion(row.cost_per_million_input_usd), perMillion(row.cost_per_million_output_usd),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: string[]) => cells
    .map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
    .join('  ').trimEnd();
  return `${window}${[render(header), ...rows.map(render)].join('\n')}\nPercentiles: ${report.percentile_method}.\n`;
}

async function runScorecard(options: ScorecardCommandOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const query = options.since ? `?${new URLSearchParams({ since: options.since })}` : '';
  const report = await client.get<ScorecardReport>(`/admin/providers/scorecard${query}`);
  output.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatScorecardTable(report));
  return exitCodes.ok;
}

/** `--since`, a date or an ISO 8601 time, checked before the gateway is asked (a usage error: exit 2). */
function sinceOption(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`"${value}" is not a date: use e.g. 2026-01-31 or 2026-01-31T09:00:00Z.`);
  return date.toISOString();
}

export function registerProviderCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const providers = program.command('providers').description('providers as measured from live traffic');
  gatewayOptions(providers
    .command('scorecard')
    .description('per provider and model version: requests, error and refusal rates, TTFT and latency p50/p95, cost per million tokens (GET /admin/providers/scorecard)'))
    .option('--since <date>', 'start of the window (default: a day ago)', sinceOption)
    .option('--json', 'print the JSON report')
    .action((options: ScorecardCommandOptions) => runCommand(write, 'providers scorecard', () => runScorecard(options, write)));
}
