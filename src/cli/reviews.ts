// `covenant reviews list|decide|stats`: the human review queue of decisions (GET/POST /admin/reviews) and its statistics.
import type { Command } from 'commander';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';
import { formatTable } from './table.js';

/** A decision as the review queue lists it (decisions/payload.ts decisionPayload). */
export interface ReviewLine {
  id: string;
  system: string;
  recommendation: string;
  score: number | null;
  model_version: string;
  status: 'final' | 'pending_review';
  final_outcome: string | null;
  created_at: string;
  review: {
    reason: string; due_at: string | null; overdue: boolean; reviewer: string | null; rationale: string | null; overridden: boolean;
    seconds: number | null;
  } | null;
}

interface Summary {
  reviews: number; overrides: number; overrideRate: number | null; agreementRate: number | null; medianSeconds: number | null; p90Seconds: number | null;
}

interface StatsAnswer {
  overall: Summary;
  byReviewer: (Summary & { reviewer: string })[];
  bySystem: (Summary & { system: string })[];
  warnings: { reviewer: string; message: string }[];
}

interface ListOptions extends GatewayClientOptions { system?: string; status?: string; overdue?: boolean; limit?: string; json?: boolean }
interface DecideOptions extends GatewayClientOptions { outcome?: string; rationale?: string; reviewer?: string; hallucinated?: boolean; json?: boolean }
interface StatsOptions extends GatewayClientOptions { system?: string; since?: string; fastSeconds?: string; minReviews?: string; json?: boolean }

export function formatReviewTable(lines: readonly ReviewLine[]): string {
  if (lines.length === 0) return 'No decision is waiting for review.\n';
  return formatTable(['ID', 'SYSTEM', 'RECOMMENDATION', 'SCORE', 'MODEL', 'STATUS', 'DUE', 'REASON'], lines.map((line) => [
    line.id, line.system, line.recommendation, line.score === null ? '-' : String(line.score), line.model_version,
    line.status === 'final' ? `${line.final_outcome}${line.review?.overridden ? ' (override)' : ''}` : line.review?.overdue ? 'OVERDUE' : 'pending',
    line.review?.due_at ?? '-', line.review?.reason ?? '-',
  ]));
}

const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);
const seconds = (value: number | null) => (value === null ? '-' : `${value.toFixed(1)} s`);

export function formatStats(stats: StatsAnswer): string {
  const row = (name: string, summary: Summary) => [name, String(summary.reviews), String(summary.overrides), percent(summary.overrideRate), seconds(summary.medianSeconds), seconds(summary.p90Seconds)];
  const header = ['', 'REVIEWS', 'OVERRIDES', 'OVERRIDE RATE', 'MEDIAN TIME', 'P90 TIME'];
  const parts = [
    formatTable(['REVIEWER', ...header.slice(1)], stats.byReviewer.map((summary) => row(summary.reviewer, summary))),
    formatTable(['SYSTEM', ...header.slice(1)], [...stats.bySystem.map((summary) => row(summary.system, summary)), row('(all)', stats.overall)]),
  ];
  const warnings = stats.warnings.length === 0 ? 'No automation-bias warning.\n' : stats.warnings.map((warning) => `WARNING: ${warning.message}\n`).join('');
  return `${parts.join('\n')}\n${warnings}`;
}

async function runList(options: ListOptions, output: CommandOutput): Promise<ExitCode> {
  const status = options.status ?? 'pending';
  if (!['pending', 'final', 'all'].includes(status)) throw new InputError('--status must be pending, final or all');
  const query = new URLSearchParams({ status });
  if (options.system) query.set('system', options.system);
  if (options.overdue) query.set('overdue', 'true');
  if (options.limit) query.set('limit', options.limit);
  const { data } = await connectGateway(options, output.environment).get<{ data: ReviewLine[] }>(`/admin/reviews?${query}`);
  output.stdout(options.json ? `${JSON.stringify(data, null, 2)}\n` : formatReviewTable(data));
  return exitCodes.ok;
}

async function runDecide(id: string, options: DecideOptions, output: CommandOutput): Promise<ExitCode> {
  const outcome = options.outcome?.trim();
  const rationale = options.rationale?.trim();
  if (!outcome) throw new InputError('--outcome is required: the outcome you decide (e.g. approve, reject)');
  if (!rationale) throw new InputError('--rationale is required: say why (recorded in the evidence ledger)');
  const body = { outcome, rationale, ...(options.reviewer ? { reviewer: options.reviewer } : {}), ...(options.hallucinated ? { hallucinated: true } : {}) };
  const record = await connectGateway(options, output.environment).post<ReviewLine>(`/admin/reviews/${encodeURIComponent(id)}`, body);
  output.stdout(options.json ? `${JSON.stringify(record, null, 2)}\n`
    : `${record.id}: ${record.final_outcome} (the model recommended ${record.recommendation}${record.review?.overridden ? '; recorded as an override' : ''}), reviewed by ${record.review?.reviewer}\n`);
  return exitCodes.ok;
}

async function runStats(options: StatsOptions, output: CommandOutput): Promise<ExitCode> {
  const query = new URLSearchParams();
  if (options.system) query.set('system', options.system);
  if (options.since) query.set('since', options.since);
  if (options.fastSeconds) query.set('fast_seconds', options.fastSeconds);
  if (options.minReviews) query.set('min_reviews', options.minReviews);
  const stats = await connectGateway(options, output.environment).get<StatsAnswer>(`/admin/reviews/stats?${query}`);
  output.stdout(options.json ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
  return exitCodes.ok;
}

export function registerReviewCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const reviews = program.command('reviews').description('human review of decisions (GET /admin/reviews): the queue, sign-offs and overrides, statistics');
  gatewayOptions(reviews.command('list').description('decisions waiting for a person (or reviewed ones)'))
    .option('--system <name>', 'one system')
    .option('--status <status>', 'pending (default), final (reviewed) or all')
    .option('--overdue', 'only reviews past their due time')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--json', 'print the JSON list')
    .action((options: ListOptions) => runCommand(write, 'reviews list', () => runList(options, write)));
  gatewayOptions(reviews.command('decide <id>').description('sign a decision off (POST /admin/reviews/:id); another outcome than the model\'s is an override'))
    .requiredOption('--outcome <outcome>', 'the outcome you decide, e.g. approve or reject')
    .requiredOption('--rationale <text>', 'why (recorded in the evidence ledger)')
    .option('--reviewer <name>', 'your name (default: the admin key\'s name)')
    .option('--hallucinated', 'label the generated text behind the decision as hallucinated')
    .option('--json', 'print the JSON decision')
    .action((id: string, options: DecideOptions) => runCommand(write, 'reviews decide', () => runDecide(id, options, write)));
  gatewayOptions(reviews.command('stats').description('override rate and time to review by reviewer and system; automation-bias warnings'))
    .option('--system <name>', 'one system')
    .option('--since <time>', 'reviews at or after this ISO 8601 time')
    .option('--fast-seconds <n>', 'a median review under this many seconds is "very little time" (default 30)')
    .option('--min-reviews <n>', 'reviewers with fewer reviews are not judged (default 20)')
    .option('--json', 'print the JSON statistics')
    .action((options: StatsOptions) => runCommand(write, 'reviews stats', () => runStats(options, write)));
}
