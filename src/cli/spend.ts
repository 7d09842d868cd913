// `covenant spend` (budgets, or spend by tag) and `covenant spend export` (FOCUS, CSV, JSON): the gateway's /admin/spend routes.
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { InvalidArgumentError, type Command } from 'commander';
import type { SpendLine, SpendReport } from '../budgets/spend-report.js';
import { periods } from '../core/budget-types.js';
import { parseScope, scopeForms } from '../core/scope.js';
import { exportFormats, isExportFormat } from '../finops/export.js';
import { tagOfGrouping, type TagSpendReport } from '../finops/tag-spend.js';
import { windowBound } from '../finops/window.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface SpendCommandOptions extends GatewayClientOptions {
  scope?: string;
  json?: boolean;
  by?: string;
  from?: string;
  to?: string;
  period?: string;
}

interface ExportCommandOptions extends GatewayClientOptions {
  format: string;
  from: string;
  to: string;
  out?: string;
}

function amount(line: SpendLine, name: string): string {
  const value = line[name];
  if (value === undefined) return '';
  return line.unit === 'usd' ? `$${value}` : `${value} tok`;
}

/** Rows under a header, columns padded to their widest cell; the columns in `rightAligned` (amounts) right-aligned. */
function alignedTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const render = (cells: string[]) => cells
    .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
    .join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

/** Spend per value of one tag; requests without the tag under "(untagged)". */
export function formatTagSpendTable(report: TagSpendReport): string {
  const tag = tagOfGrouping(report.group_by) ?? report.group_by;
  const rows = report.groups.map((group) => [group.value ?? '(untagged)', String(group.requests), String(group.input_tokens), String(group.output_tokens), `$${group.cost_usd}`]);
  rows.push(['TOTAL', String(report.total.requests), '', '', `$${report.total.cost_usd}`]);
  const table = alignedTable([tag.toUpperCase(), 'REQUESTS', 'INPUT TOKENS', 'OUTPUT TOKENS', 'SPENT'], rows, new Set([1, 2, 3, 4]));
  return `Spend by tag ${tag}, ${report.from} to ${report.to}\n${table}`;
}

/** Columns padded to their widest cell; amounts right-aligned. */
export function formatSpendTable(report: SpendReport): string {
  const header = ['SCOPE', 'BUDGET', 'LIMIT', 'SPENT', 'RESERVED', 'REMAINING', 'PERIOD START', 'PERIOD END', 'PROJECTED EXHAUSTION'];
  const rows = report.scopes.flatMap((scope) => scope.budgets.map((line) => [
    scope.scope, `${line.unit}/${line.period}`, amount(line, 'limit'), amount(line, 'spent'),
    amount(line, 'reserved'), amount(line, 'remaining'), line.period_start, line.period_end, line.projected_exhaustion_at ?? '-',
  ]));
  if (rows.length === 0) return 'No budgets are configured.\n';
  return alignedTable(header, rows, new Set([2, 3, 4, 5]));
}

/** `from`/`to` given together; the gateway checks them again. */
function windowQuery(options: { from?: string; to?: string }): Record<string, string> {
  if ((options.from === undefined) !== (options.to === undefined)) throw new InputError('give both --from and --to');
  return options.from !== undefined && options.to !== undefined ? { from: options.from, to: options.to } : {};
}

async function runSpend(options: SpendCommandOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  if (options.by !== undefined) {
    if (options.scope !== undefined) throw new InputError('--by and --scope cannot be combined: spend by tag covers every scope you may see');
    const parameters = new URLSearchParams({ group_by: options.by, ...windowQuery(options), ...(options.period ? { period: options.period } : {}) });
    const report = await client.get<TagSpendReport>(`/admin/spend?${parameters}`);
    output.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatTagSpendTable(report));
    return exitCodes.ok;
  }
  const query = options.scope ? `?${new URLSearchParams({ scope: options.scope })}` : '';
  const report = await client.get<SpendReport>(`/admin/spend${query}`);
  output.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatSpendTable(report));
  return exitCodes.ok;
}

/** Write the gateway's export to --out (streamed to the file as it arrives), else to standard output. */
async function runExport(options: ExportCommandOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const parameters = new URLSearchParams({ format: options.format, ...windowQuery(options) });
  const body = Readable.fromWeb(await client.download(`/admin/spend/export?${parameters}`) as WebReadableStream<Uint8Array>);
  if (options.out === undefined) {
    await pipeline(body, new Writable({
      decodeStrings: false,
      write(chunk: Buffer, _encoding, callback) {
        output.stdout(chunk.toString('utf8'));
        callback();
      },
    }));
    return exitCodes.ok;
  }
  try {
    await pipeline(body, createWriteStream(options.out));
  } catch (error) {
    throw new InputError(`cannot write ${options.out}: ${(error as Error).message}`);
  }
  output.stderr(`wrote the ${options.format} export of ${options.from} to ${options.to} to ${options.out}\n`);
  return exitCodes.ok;
}

function byOption(value: string): string {
  if (tagOfGrouping(value) === undefined) throw new InvalidArgumentError(`"${value}" is not a grouping: use tag:KEY, e.g. tag:team.`);
  return value;
}

function boundOption(side: 'from' | 'to') {
  return (value: string): string => {
    if (!windowBound(value, side)) throw new InvalidArgumentError(`"${value}" is not a date (YYYY-MM-DD) or an ISO 8601 time.`);
    return value;
  };
}

function periodOption(value: string): string {
  if (!(periods as readonly string[]).includes(value)) throw new InvalidArgumentError(`"${value}" is not a period: use ${periods.join(', ')}.`);
  return value;
}

function formatOption(value: string): string {
  if (!isExportFormat(value)) throw new InvalidArgumentError(`"${value}" is not a format: use ${exportFormats.join(', ')}.`);
  return value;
}

/** `--scope`, checked against the scope grammar before the gateway is asked (a usage error: exit 2). */
function scopeOption(value: string): string {
  if (!parseScope(value)) throw new InvalidArgumentError(`"${value}" is not a scope: use ${scopeForms}.`);
  return value;
}

export function registerSpendCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  // `spend` and `spend export` share option names (--from, --url): each command's options come before its subcommand,
  // which needs positional options on every command above `export` (the program has only --help and --version).
  program.enablePositionalOptions();
  const spend = gatewayOptions(program
    .command('spend')
    .description('show every budget: limit, spent, reserved, remaining and period (GET /admin/spend); or spend by tag with --by'))
    .option('--scope <scope>', 'one scope only, e.g. department:claims, key:ID, user:claims/alice or user:claims (every user)', scopeOption)
    .option('--by <grouping>', 'spend grouped by a tag\'s values, e.g. tag:team (from the ledger)', byOption)
    .option('--from <date>', 'with --by: start of the window (YYYY-MM-DD or ISO 8601 time)', boundOption('from'))
    .option('--to <date>', 'with --by: end of the window (a date includes that whole day)', boundOption('to'))
    .option('--period <period>', `with --by and no --from/--to: the current window of this period (${periods.join(', ')}; default month)`, periodOption)
    .option('--json', 'print the JSON report')
    .action((options: SpendCommandOptions) => runCommand(write, 'spend', () => runSpend(options, write)))
    .enablePositionalOptions();
  gatewayOptions(spend
    .command('export')
    .description('export spend per day, department, key and model version (GET /admin/spend/export): FOCUS 1.2 CSV, plain CSV or JSON'))
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD, UTC) or ISO 8601 time', boundOption('from'))
    .requiredOption('--to <date>', 'last day, included (YYYY-MM-DD, UTC), or an ISO 8601 time (excluded)', boundOption('to'))
    .option('--format <format>', `${exportFormats.join(', ')}`, formatOption, 'focus')
    .option('--out <file>', 'write to this file (default: standard output)')
    .action((options: ExportCommandOptions) => runCommand(write, 'spend export', () => runExport(options, write)));
}
