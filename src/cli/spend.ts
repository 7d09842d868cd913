// `covenant spend`: the gateway's GET /admin/spend as an aligned table, or as JSON for scripts.
import { InvalidArgumentError, type Command } from 'commander';
import type { SpendLine, SpendReport } from '../budgets/spend-report.js';
import { parseScope, scopeForms } from '../core/scope.js';
import { commandOutput, exitCodes, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface SpendCommandOptions extends GatewayClientOptions {
  scope?: string;
  json?: boolean;
}

function amount(line: SpendLine, name: string): string {
  const value = line[name];
  if (value === undefined) return '';
  return line.unit === 'usd' ? `$${value}` : `${value} tok`;
}

/** Columns padded to their widest cell; amounts right-aligned. */
export function formatSpendTable(report: SpendReport): string {
  const header = ['SCOPE', 'BUDGET', 'LIMIT', 'SPENT', 'RESERVED', 'REMAINING', 'PERIOD START', 'PERIOD END', 'PROJECTED EXHAUSTION'];
  const rows = report.scopes.flatMap((scope) => scope.budgets.map((line) => [
    scope.scope, `${line.unit}/${line.period}`, amount(line, 'limit'), amount(line, 'spent'),
    amount(line, 'reserved'), amount(line, 'remaining'), line.period_start, line.period_end, line.projected_exhaustion_at ?? '-',
  ]));
  if (rows.length === 0) return 'No budgets are configured.\n';
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const rightAligned = new Set([2, 3, 4, 5]);
  const render = (cells: string[]) => cells
    .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
    .join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

async function runSpend(options: SpendCommandOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const query = options.scope ? `?${new URLSearchParams({ scope: options.scope })}` : '';
  const report = await client.get<SpendReport>(`/admin/spend${query}`);
  output.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatSpendTable(report));
  return exitCodes.ok;
}

/** `--scope`, checked against the scope grammar before the gateway is asked (a usage error: exit 2). */
function scopeOption(value: string): string {
  if (!parseScope(value)) throw new InvalidArgumentError(`"${value}" is not a scope: use ${scopeForms}.`);
  return value;
}

export function registerSpendCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  gatewayOptions(program
    .command('spend')
    .description('show every budget: limit, spent, reserved, remaining and period (GET /admin/spend)'))
    .option('--scope <scope>', 'one scope only, e.g. department:claims, key:ID, user:claims/alice or user:claims (every user)', scopeOption)
    .option('--json', 'print the JSON report')
    .action((options: SpendCommandOptions) => runCommand(write, 'spend', () => runSpend(options, write)));
}
