// `covenant drift baseline|run`: golden-dataset regression through the running gateway, checked against the contract's drift terms.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { cosineSimilarity } from '../core/divergence.js';
import { embedText } from '../core/embedding.js';
import { formatMicros } from '../core/money.js';
import { baselineSchema, distinct, type Baseline, type Sample } from '../drift/baseline.js';
import { compareRun, defaultThresholds, type DriftReport, type DriftThresholds, type ThresholdSources } from '../drift/compare.js';
import { formatHtmlReport } from '../drift/report-html.js';
import { formatJunitReport, formatTextReport } from '../drift/report-text.js';
import { parseSuite, SuiteError, type Suite } from '../drift/suite.js';
import { commandOutput, configFile, exitCodes, InputError, readConfig, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { callItem, embedThroughGateway, keySecret, mapConcurrently, progressBar, type CallTarget, type KeySecret } from './drift-calls.js';
import { connectGateway, findUrl, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface CommonOptions extends GatewayClientOptions {
  suite: string;
  model: string;
  version?: string;
  key?: string;
  keyEnv?: string;
  concurrency: string;
  warmup: string;
  json?: boolean;
}

interface BaselineOptions extends CommonOptions {
  repeat: string;
  out: string;
}

interface RunOptions extends CommonOptions {
  baseline: string;
  format?: string;
  out?: string;
  embeddingModel?: string;
  minSimilarity?: string;
  maxVariance?: string;
  maxSafetyFailures?: string;
  alpha?: string;
  minLatencyChangeMs?: string;
}

function readSuite(file: string): Suite {
  if (!existsSync(file)) throw new InputError(`no suite file at ${file}`);
  try {
    return parseSuite(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if (error instanceof SuiteError) throw new InputError(`the suite has errors:\n${error.message}`);
    throw error;
  }
}

function nonNegativeInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InputError(`${flag} must be a whole number, not "${text}"`);
  return value;
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${flag} must be a whole number of at least 1, not "${text}"`);
  return value;
}

/** A fraction from a flag or the contract: 0.15, or "15%". */
export function fraction(value: unknown, where: string): number {
  const number = typeof value === 'string' && value.trim().endsWith('%') ? Number(value.trim().slice(0, -1)) / 100 : Number(value);
  if (!Number.isFinite(number) || number < 0) throw new InputError(`${where} must be a non-negative number (0.15 or "15%"), not ${JSON.stringify(value)}`);
  return number;
}

/** The gateway's address, the config (when there is one), and the key the run is charged to. */
function target(options: CommonOptions, environment: Record<string, string | undefined>): { url: string; key: KeySecret } {
  const file = configFile(options.config, environment);
  if (file !== undefined && !existsSync(file)) throw new InputError(`no config file at ${file}`);
  const config = file === undefined ? undefined : readConfig(file);
  const { url } = findUrl(options.url, config);
  return { url, key: keySecret(options, config, environment) };
}

/**
 * Every item `repeat` times through the gateway, `concurrency` at a time, with a progress bar on a terminal. First
 * `warmup` untimed calls of the first item (connections, caches and tokenizers warm up), so the first timed answers
 * are not slow for reasons the model has nothing to do with; they are charged like the others.
 */
async function callSuite(call: CallTarget, suite: Suite, repeat: number, concurrency: number, label: string, warmup: number): Promise<{ samples: Sample[][]; warmupMicros: number }> {
  let warmupMicros = 0;
  for (let round = 0; round < warmup; round++) warmupMicros += (await callItem(call, suite.items[0]!)).cost_usd_micros;
  const jobs = suite.items.flatMap((item, index) => Array.from({ length: repeat }, () => ({ item, index })));
  const progress = progressBar(jobs.length, label);
  const samples = await mapConcurrently(jobs, concurrency, (job) => callItem(call, job.item), () => progress.tick());
  progress.done();
  const byItem = suite.items.map(() => [] as Sample[]);
  jobs.forEach((job, index) => byItem[job.index]!.push(samples[index]!));
  return { samples: byItem, warmupMicros };
}

async function runBaseline(options: BaselineOptions, output: CommandOutput): Promise<ExitCode> {
  const suite = readSuite(options.suite);
  const repeat = positiveInteger(options.repeat, '--repeat');
  const concurrency = positiveInteger(options.concurrency, '--concurrency');
  const { url, key } = target(options, output.environment);
  const warmup = nonNegativeInteger(options.warmup, '--warmup');
  const { samples, warmupMicros } = await callSuite({ url, secret: key.secret, alias: options.model, version: options.version }, suite, repeat, concurrency, 'baseline calls', warmup);
  const all = samples.flat();
  const baseline: Baseline = {
    format: 'covenant-drift-baseline',
    format_version: 1,
    created_at: new Date().toISOString(),
    model: options.model,
    requested_version: options.version ?? null,
    suite: { file: options.suite, sha256: suite.sha256, items: suite.items.length },
    repeat,
    key: key.name,
    versions_seen: distinct(all.map((sample) => sample.model)),
    fingerprints_seen: distinct(all.map((sample) => sample.system_fingerprint)),
    cost_usd_micros: all.reduce((sum, sample) => sum + sample.cost_usd_micros, warmupMicros),
    items: suite.items.map((item, index) => ({
      id: item.id, safety: item.safety ?? null, expected: item.expected ?? null, tags: item.tags ?? [], samples: samples[index]!,
    })),
  };
  writeFileSync(options.out, `${JSON.stringify(baseline, null, 2)}\n`);
  const summary = {
    out: options.out, model: baseline.model, requested_version: baseline.requested_version, items: suite.items.length, calls: all.length,
    versions_seen: baseline.versions_seen, fingerprints_seen: baseline.fingerprints_seen, cost_usd: formatMicros(baseline.cost_usd_micros),
  };
  output.stdout(options.json ? `${JSON.stringify(summary, null, 2)}\n`
    : `Baseline of ${baseline.model} on ${options.suite}: ${all.length} calls (${suite.items.length} items × ${repeat}), versions ${summary.versions_seen.join(', ') || '-'}, written to ${options.out}\nCost: $${summary.cost_usd}\n`);
  return exitCodes.ok;
}

function readBaseline(file: string): { baseline: Baseline; sha256: string } {
  if (!existsSync(file)) throw new InputError(`no baseline file at ${file}`);
  const text = readFileSync(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`${file} is not JSON`);
  }
  const parsed = baselineSchema.safeParse(value);
  if (!parsed.success) throw new InputError(`${file} is not a drift baseline: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return { baseline: parsed.data, sha256: createHash('sha256').update(text).digest('hex') };
}

/** The alias's contract drift terms (GET /admin/models/:alias, `contract.drift`), else the defaults; flags win. */
async function thresholdsFor(options: RunOptions, contract: Record<string, unknown> | undefined): Promise<{ thresholds: DriftThresholds; sources: ThresholdSources }> {
  const thresholds: DriftThresholds = { ...defaultThresholds };
  const sources: ThresholdSources = { minSimilarity: 'default', maxVariance: 'default', maxSafetyFailures: 'default', alpha: 'default', minLatencyChangeMs: 'default' };
  const fields = [['minSimilarity', 'min_similarity'], ['maxVariance', 'max_variance'], ['maxSafetyFailures', 'max_safety_failures']] as const;
  for (const [name, field] of fields) {
    if (contract?.[field] === undefined || contract[field] === null) continue;
    thresholds[name] = fraction(contract[field], `contract.drift.${field}`);
    sources[name] = 'contract';
  }
  const flags = [['minSimilarity', options.minSimilarity, '--min-similarity'], ['maxVariance', options.maxVariance, '--max-variance'],
    ['maxSafetyFailures', options.maxSafetyFailures, '--max-safety-failures'], ['alpha', options.alpha, '--alpha'],
    ['minLatencyChangeMs', options.minLatencyChangeMs, '--min-latency-change-ms']] as const;
  for (const [name, value, flag] of flags) {
    if (value === undefined) continue;
    thresholds[name] = fraction(value, flag);
    sources[name] = 'flag';
  }
  return { thresholds, sources };
}

/** Similarity of each candidate answer to its closest baseline answer: an embedding alias's vectors, else the built-in lexical embedding. */
async function similarities(baseline: Baseline, answers: Sample[], embedding: CallTarget | undefined): Promise<{ values: number[]; costMicros: number }> {
  const values: number[] = [];
  let costMicros = 0;
  for (const [index, item] of baseline.items.entries()) {
    const candidate = answers[index]!.output;
    const references = item.samples.map((sample) => sample.output);
    let vectors: number[][];
    if (embedding) {
      const embedded = await embedThroughGateway(embedding, [candidate, ...references]);
      vectors = embedded.vectors;
      costMicros += embedded.costMicros;
    } else {
      vectors = [candidate, ...references].map((text) => embedText(text));
    }
    // Identical answers are similar whatever the embedding makes of them (an empty answer embeds as zeros).
    values.push(Math.max(...references.map((reference, position) => (reference === candidate ? 1 : cosineSimilarity(vectors[0]!, vectors[position + 1]!)))));
  }
  return { values, costMicros };
}

const formats = ['text', 'json', 'html', 'junit'] as const;

async function runDrift(options: RunOptions, output: CommandOutput): Promise<ExitCode> {
  const format = options.json ? 'json' : (options.format ?? 'text');
  if (!(formats as readonly string[]).includes(format)) throw new InputError(`--format must be one of ${formats.join(', ')}, not "${format}"`);
  const suite = readSuite(options.suite);
  const { baseline, sha256 } = readBaseline(options.baseline);
  const concurrency = positiveInteger(options.concurrency, '--concurrency');
  if (baseline.suite.sha256 !== suite.sha256) {
    const missing = baseline.items.filter((item) => !suite.items.some((entry) => entry.id === item.id)).map((item) => item.id);
    if (missing.length > 0) throw new InputError(`the baseline has items the suite lacks (${missing.slice(0, 5).join(', ')}): record a new baseline for this suite`);
  }
  const items = baseline.items.map((item) => suite.items.find((entry) => entry.id === item.id)!);
  const admin = connectGateway(options, output.environment);
  const { url, key } = target(options, output.environment);
  const contract = await admin.get<{ contract?: { drift?: Record<string, unknown> } }>(`/admin/models/${encodeURIComponent(options.model)}`).catch(() => undefined);
  const { thresholds, sources } = await thresholdsFor(options, contract?.contract?.drift);

  const call: CallTarget = { url, secret: key.secret, alias: options.model, version: options.version };
  const called = await callSuite(call, { items, sha256: suite.sha256 }, 1, concurrency, 'drift calls', nonNegativeInteger(options.warmup, '--warmup'));
  const answers = called.samples.map((samples) => samples[0]!);
  const embedding = options.embeddingModel === undefined ? undefined : { ...call, alias: options.embeddingModel, version: undefined };
  const scored = await similarities(baseline, answers, embedding);
  const costMicros = answers.reduce((sum, sample) => sum + sample.cost_usd_micros, called.warmupMicros) + scored.costMicros;
  const report: DriftReport = compareRun({
    baseline, baselineSha256: sha256, suite: { file: options.suite, sha256: suite.sha256 },
    candidates: baseline.items.map((item, index) => ({ id: item.id, sample: answers[index]!, similarity: scored.values[index]! })),
    thresholds, sources, embedding: { kind: embedding ? 'model' : 'lexical', alias: options.embeddingModel ?? null },
    requestedVersion: options.version ?? null,
    versionsSeen: distinct(answers.map((sample) => sample.model)), fingerprintsSeen: distinct(answers.map((sample) => sample.system_fingerprint)),
    costMicros,
  });
  const reportText = JSON.stringify(report, null, 2);
  const recorded = await admin.post<{ seq: number }>('/admin/drift/runs', {
    model: report.model, requested_version: report.requested_version, verdict: report.verdict, key: key.department === null ? key.name : key.name.slice(key.department.length + 1), department: key.department,
    suite: report.suite, baseline_sha256: sha256, report_sha256: createHash('sha256').update(reportText).digest('hex'),
    embedding: report.embedding, versions_seen: report.candidate.versions_seen, fingerprints_seen: report.candidate.fingerprints_seen,
    baseline_versions_seen: report.baseline.versions_seen,
    checks: report.checks.map((check) => ({ name: check.name, observed: check.observed, threshold: check.threshold, pass: check.pass, breached_items: check.breached_items })),
    cost_usd_micros: costMicros,
  });
  const cost = formatMicros(costMicros);
  const rendered = format === 'json' ? `${JSON.stringify({ ...report, ledger_seq: recorded.seq }, null, 2)}\n`
    : format === 'html' ? formatHtmlReport(report, cost)
    : format === 'junit' ? formatJunitReport(report)
    : `${formatTextReport(report, cost)}Recorded in the evidence ledger as drift.run #${recorded.seq}\n`;
  if (options.out !== undefined) {
    writeFileSync(options.out, rendered);
    output.stdout(format === 'text' ? rendered : `${formatTextReport(report, cost)}Recorded in the evidence ledger as drift.run #${recorded.seq}\nReport (${format}) written to ${options.out}\n`);
  } else {
    output.stdout(rendered);
  }
  return report.verdict === 'pass' ? exitCodes.ok : exitCodes.breach;
}

function commonOptions(command: Command): Command {
  return gatewayOptions(command)
    .requiredOption('--suite <file>', 'the golden dataset: JSONL, one {id, messages, expected?, tags?, safety?} per line')
    .requiredOption('--model <alias>', 'the model alias to call')
    .option('--version <version>', 'a specific registry version of the alias (sent as the x-covenant-model-version header)')
    .option('--key <name>', 'the config key the calls are charged to (name or department/name; its secret is read from its key_env)')
    .option('--key-env <variable>', 'read the key\'s secret from this variable instead (keys made by the admin API)')
    .option('--concurrency <n>', 'calls in flight at once', '4')
    .option('--warmup <n>', 'untimed calls before the timed ones', '1')
    .option('--json', 'print JSON');
}

export function registerDriftCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const drift = program.command('drift').description('golden-dataset regression against the contract\'s drift thresholds, through the running gateway');
  commonOptions(drift.command('baseline').description('record a suite\'s answers, latencies and token counts as the baseline'))
    .option('--repeat <k>', 'answers per item (more give better latency and length distributions)', '1')
    .requiredOption('--out <file>', 'where to write the baseline JSON')
    .action((options: BaselineOptions) => runCommand(write, 'drift baseline', () => runBaseline(options, write)));
  commonOptions(drift.command('run').description('run a suite again and compare it with a baseline; exit 1 on material drift'))
    .requiredOption('--baseline <file>', 'a baseline written by covenant drift baseline')
    .option('--format <format>', `report format: ${formats.join(', ')}`, 'text')
    .option('--out <file>', 'write the report here (a summary still goes to stdout)')
    .option('--embedding-model <alias>', 'an embedding alias for similarity (default: the built-in lexical embedding)')
    .option('--min-similarity <n>', 'override the contract\'s min_similarity')
    .option('--max-variance <n>', 'override the contract\'s max_variance (0.15 or 15%)')
    .option('--max-safety-failures <n>', 'override the contract\'s max_safety_failures (a share of the safety items)')
    .option('--alpha <n>', `significance level of the output-length distribution test (default ${defaultThresholds.alpha})`)
    .option('--min-latency-change-ms <ms>', `latency changes smaller than this are noise, never a breach (default ${defaultThresholds.minLatencyChangeMs})`)
    .action((options: RunOptions) => runCommand(write, 'drift run', () => runDrift(options, write)));
}
