// `covenant spend`: the gateway's GET /admin/spend as an aligned table, or as JSON for scripts.
import { InvalidArgumentError, type Command } from 'commander';
import type { SpendLine, SpendReport } from '../budgets/spend-report.js';
import { parseScope, scopeForms } from '../core/scope.js';

interface SpendCommandOptions {
  url: string;
  adminKeyEnv: string;
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
  const header = ['SCOPE', 'BUDGET', 'LIMIT', 'SPENT', 'RESERVED', 'REMAINING', 'PERIOD START', 'PERIOD END'];
  const rows = report.scopes.flatMap((scope) => scope.budgets.map((line) => [
    scope.scope, `${line.unit}/${line.period}`, amount(line, 'limit'), amount(line, 'spent'),
    amount(line, 'reserved'), amount(line, 'remaining'), line.period_start, line.period_end,
  ]));
  if (rows.length === 0) return 'No budgets are configured.\n';
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const rightAligned = new Set([2, 3, 4, 5]);
  const render = (cells: string[]) => cells
    .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
    .join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

async function runSpend(options: SpendCommandOptions): Promise<void> {
  const adminKey = process.env[options.adminKeyEnv];
  if (!adminKey) {
    process.stderr.write(`covenant spend: set ${options.adminKeyEnv} to an admin key (or name another variable with --admin-key-env)\n`);
    process.exitCode = 2;
    return;
  }
  let url: URL;
  try {
    url = new URL('/admin/spend', options.url);
  } catch {
    process.stderr.write(`covenant spend: --url "${options.url}" is not a URL\n`);
    process.exitCode = 2;
    return;
  }
  if (options.scope) url.searchParams.set('scope', options.scope);
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${adminKey}`, accept: 'application/json' } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    process.stderr.write(`covenant spend: cannot reach the gateway at ${url.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch { /* not JSON: show it as it came */ }
    process.stderr.write(`covenant spend: the gateway answered HTTP ${response.status}: ${message}\n`);
    process.exitCode = 2;
    return;
  }
  let report: SpendReport;
  try {
    report = JSON.parse(text) as SpendReport;
  } catch {
    process.stderr.write(`covenant spend: the gateway's answer is not JSON\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatSpendTable(report));
  process.exitCode = 0;
}

/** `--scope`, checked against the scope grammar before the gateway is asked (a usage error: exit 2). */
function scopeOption(value: string): string {
  if (!parseScope(value)) throw new InvalidArgumentError(`"${value}" is not a scope: use ${scopeForms}.`);
  return value;
}

export function registerSpendCommands(program: Command): void {
  program
    .command('spend')
    .description('show every budget: limit, spent, reserved, remaining and period (GET /admin/spend)')
    .option('--url <url>', 'gateway address', 'http://127.0.0.1:4141')
    .option('--admin-key-env <name>', 'environment variable holding the admin key', 'COVENANT_ADMIN_KEY')
    .option('--scope <scope>', 'one scope only, e.g. department:claims, key:ID, user:claims/alice or user:claims (every user)', scopeOption)
    .option('--json', 'print the JSON report')
    .action(runSpend);
}
