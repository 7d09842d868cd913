// `covenant bias audit`: fairness of decisions in a CSV file or stored by the gateway, per group and intersection.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { FairnessRecord } from '../core/fairness.js';
import { biasAudit, protectedAttributes, recordsFromDecisions, type StoredDecision } from '../decisions/bias-audit.js';
import { formatAuditHtml, formatAuditText } from './bias-report.js';
import { isFavorable, parseOption, recordsFromTable } from './bias-input.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { readCsvFile } from './csv-table.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface AuditOptions extends GatewayClientOptions {
  input?: string;
  system?: string;
  group: string[];
  prediction?: string;
  label?: string;
  favorable?: string;
  where: string[];
  minGroupShare: string;
  minImpactRatio: string;
  confidence: string;
  format: string;
  json?: boolean;
  out?: string;
  since?: string;
}

function fraction(text: string, option: string, { open }: { open: boolean }): number {
  const value = Number(text);
  const ok = Number.isFinite(value) && (open ? value > 0 && value < 1 : value >= 0 && value <= 1);
  if (!ok) throw new InputError(`${option} must be a number ${open ? 'between 0 and 1' : 'from 0 to 1'}, got "${text}"`);
  return value;
}

async function loadRecords(options: AuditOptions, output: CommandOutput): Promise<{ records: FairnessRecord[]; filtered: number; groups: string[]; source: string; prediction: string; label: string | null }> {
  if ((options.input === undefined) === (options.system === undefined)) throw new InputError('pass --input FILE.csv or --system NAME (one of them)');
  if (options.input !== undefined) {
    if (options.group.length === 0) throw new InputError('--group COLUMN is required with --input (repeat it for intersections)');
    if (options.prediction === undefined) throw new InputError('--prediction is required with --input: a column, or a comparison such as "score >= 0.5"');
    const prediction = parseOption(options.prediction, '--prediction');
    const where = options.where.map((expression) => parseOption(expression, '--where'));
    const table = readCsvFile(options.input);
    const { records, filtered } = recordsFromTable(table, { groups: options.group, prediction, label: options.label, favorable: options.favorable, where }, options.input);
    const selected = prediction.kind === 'column' ? `${prediction.column} = ${options.favorable ?? '1/true/yes'}` : options.prediction;
    const label = options.label === undefined ? null : `${options.label} = ${options.favorable ?? '1/true/yes'}`;
    return { records, filtered, groups: options.group, source: options.input, prediction: selected, label };
  }
  if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) throw new InputError(`--since must be an ISO 8601 time, got "${options.since}"`);
  if (options.prediction !== undefined || options.where.length > 0) throw new InputError('--prediction and --where apply to --input; stored decisions are judged by their final outcome');
  const system = options.system as string;
  const client = connectGateway(options, output.environment);
  const since = options.since === undefined ? '' : `&since=${encodeURIComponent(options.since)}`;
  const answer = await client.get<{ decisions?: StoredDecision[] }>(`/admin/systems/${encodeURIComponent(system)}/decisions?include=protected${since}`);
  if (!Array.isArray(answer.decisions)) throw new InputError(`the gateway's answer for system ${system} has no decisions list`);
  const groups = options.group.length > 0 ? options.group : protectedAttributes(answer.decisions);
  if (groups.length === 0) throw new InputError(`the decisions of ${system} carry no protected attributes to group by (is your admin key an auditor's?)`);
  if (options.favorable !== undefined) {
    const favorable = options.favorable;
    const { records, filtered } = recordsFromDecisions(answer.decisions, groups, (outcome) => isFavorable(outcome, favorable));
    return { records, filtered, groups, source: `system ${system}`, prediction: `final outcome (else recommendation) = ${favorable}`, label: `outcome = ${favorable}` };
  }
  // Without --favorable, as the admin API's audit: favourable is any outcome the system does not count as adverse.
  const listed = await client.get<{ data?: { name: string; review?: { adverse?: string[] } }[] }>('/admin/systems');
  const adverse = listed.data?.find((entry) => entry.name === system)?.review?.adverse;
  if (!Array.isArray(adverse)) throw new InputError(`the gateway lists no adverse outcomes for system ${system}; pass --favorable`);
  const { records, filtered } = recordsFromDecisions(answer.decisions, groups, (outcome) => !adverse.includes(outcome.trim().toLowerCase()));
  const judged = `not adverse (${adverse.join(', ')})`;
  return { records, filtered, groups, source: `system ${system}`, prediction: `final outcome (else recommendation) ${judged}`, label: `outcome ${judged}` };
}

/** Run the audit and write it; exit 1 when a breakdown fails the four-fifths rule (or --min-impact-ratio). */
export async function runBiasAudit(options: AuditOptions, output: CommandOutput): Promise<ExitCode> {
  const format = options.json ? 'json' : options.format;
  if (!['text', 'json', 'html'].includes(format)) throw new InputError(`--format must be text, json or html, got "${format}"`);
  const minGroupShare = fraction(options.minGroupShare, '--min-group-share', { open: false });
  const minImpactRatio = fraction(options.minImpactRatio, '--min-impact-ratio', { open: false });
  const confidence = fraction(options.confidence, '--confidence', { open: true });
  const loaded = await loadRecords(options, output);
  if (loaded.records.length === 0) throw new InputError(`no records to audit in ${loaded.source}${loaded.filtered ? ` (the filters removed all ${loaded.filtered})` : ''}`);
  const audit = biasAudit(loaded.records, loaded.groups, { source: loaded.source, prediction: loaded.prediction, label: loaded.label, filtered: loaded.filtered }, { minGroupShare, minImpactRatio, confidence });
  const text = format === 'json' ? `${JSON.stringify(audit, null, 2)}\n` : format === 'html' ? formatAuditHtml(audit) : formatAuditText(audit);
  if (options.out === undefined) {
    output.stdout(text);
  } else {
    try {
      writeFileSync(options.out, text);
    } catch (error) {
      throw new InputError(`cannot write ${options.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    output.stdout(`Wrote the ${format} report to ${options.out}: ${audit.passes ? 'PASS' : 'FAIL'}\n`);
  }
  return audit.passes ? exitCodes.ok : exitCodes.breach;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerBiasCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const bias = program.command('bias').description('fairness audits of decisions across protected groups');
  gatewayOptions(bias
    .command('audit')
    .description('selection, error rates and parity per group and intersection; exit 1 when the four-fifths rule fails'))
    .option('--input <file>', 'a CSV file with a header row')
    .option('--system <name>', 'the decisions the running gateway stored for this system (needs an auditor\'s admin key)')
    .option('--since <time>', 'with --system: only decisions made since this ISO 8601 time')
    .option('--group <column>', 'a protected attribute to group by; repeat it for intersections', collect, [])
    .option('--prediction <expression>', 'the favorable decision: a column, or COLUMN OP VALUE with OP one of == != >= <= > < (e.g. "decile_score >= 5")')
    .option('--label <column>', 'the true outcome (empty cells are unknown)')
    .option('--favorable <value>', 'the favorable value of the label and of a prediction column (default: 1, true or yes; with --system, any outcome the system does not count as adverse)')
    .option('--where <expression>', 'keep only rows where COLUMN OP VALUE holds; repeat to require several', collect, [])
    .option('--min-group-share <fraction>', 'groups under this share of records are reported but left out of ratios', '0.02')
    .option('--min-impact-ratio <ratio>', 'the lowest acceptable impact ratio (the four-fifths rule)', '0.8')
    .option('--confidence <level>', 'confidence level of the Wilson intervals', '0.95')
    .option('--format <format>', 'text, json or html', 'text')
    .option('--json', 'the same as --format json')
    .option('--out <file>', 'write the report to a file instead of standard output')
    .action((options: AuditOptions) => runCommand(write, 'bias audit', () => runBiasAudit(options, write)));
}
