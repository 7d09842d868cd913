// `covenant explain`: Kernel SHAP attributions of one instance from a black-box KServe v1 model, and checks of a vendor's explanation.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { kernelShap, type ShapExplanation } from '../core/shap.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { readCsvFile, requireColumn, type CsvTable } from './csv-table.js';
import { kserveEvaluator } from './kserve-client.js';

interface ExplainOptions {
  endpoint: string;
  background: string;
  features?: string;
  instance: string;
  outputIndex?: string;
  maxBackground: string;
  samples?: string;
  seed: string;
  batchRows: string;
  timeout: string;
  check?: string;
  tolerance: string;
  json?: boolean;
}

/** An explanation in the decisions API's shape: {method, base_value, attributions {feature: value}}. */
export interface ExplanationPayload {
  method: 'kernel_shap';
  value: number;
  base_value: number;
  attributions: Record<string, number>;
  exact: boolean;
  coalitions: number;
  evaluations: number;
  requests: number;
  background_rows: number;
}

export interface CheckResult {
  agrees: boolean;
  tolerance: number;
  base_value: { vendor: number; computed: number; difference: number };
  /** The vendor's attributions sum to f(x) − its base value, within the tolerance. */
  vendor_locally_accurate: boolean;
  features: { feature: string; vendor: number; computed: number; difference: number; agrees: boolean }[];
  missing: string[];
}

function positiveInteger(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${option} must be a positive whole number, got "${text}"`);
  return value;
}

function readJsonArgument(text: string, option: string): unknown {
  let source = text;
  if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (error) {
      throw new InputError(`cannot read ${text.slice(1)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  try {
    return JSON.parse(source);
  } catch {
    throw new InputError(`${option} is not JSON: ${text.slice(0, 80)}`);
  }
}

/** The background table as numbers; every cell must be a number. */
function numericRows(table: CsvTable, columns: readonly string[], source: string): number[][] {
  return table.rows.map((row, index) => columns.map((column) => {
    const value = Number(row[column]);
    if (row[column] === '' || !Number.isFinite(value)) throw new InputError(`${source} row ${index + 2}, column ${column}: "${row[column]}" is not a number`);
    return value;
  }));
}

/** The instance as numbers in the background's column order: a JSON array, or an object keyed by column name. */
export function instanceVector(value: unknown, columns: readonly string[]): number[] {
  const check = (entry: unknown, name: string): number => {
    if (typeof entry !== 'number' || !Number.isFinite(entry)) throw new InputError(`--instance: ${name} must be a number, got ${JSON.stringify(entry)}`);
    return entry;
  };
  if (Array.isArray(value)) {
    if (value.length !== columns.length) throw new InputError(`--instance has ${value.length} values; the background has ${columns.length} columns (${columns.join(', ')})`);
    return value.map((entry, index) => check(entry, columns[index]));
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !columns.includes(key));
    if (unknown.length > 0) throw new InputError(`--instance names columns the background lacks: ${unknown.join(', ')}`);
    return columns.map((column) => {
      if (!(column in record)) throw new InputError(`--instance lacks a value for ${column}`);
      return check(record[column], column);
    });
  }
  throw new InputError('--instance must be a JSON array of numbers or an object of feature: number');
}

/** Evenly spaced rows, so a large background stays affordable (each coalition costs one model call per row). */
export function thinRows<T>(rows: readonly T[], limit: number): T[] {
  if (rows.length <= limit) return [...rows];
  return Array.from({ length: limit }, (_, index) => rows[Math.floor((index * rows.length) / limit)]);
}

/** Compare a vendor's explanation with the computed one, feature by feature. */
export function checkExplanation(vendor: unknown, computed: ExplanationPayload, tolerance: number): CheckResult {
  const claimed = vendor as { base_value?: unknown; attributions?: unknown };
  if (typeof claimed?.base_value !== 'number') throw new InputError('--check: the explanation needs a numeric "base_value"');
  const features = Object.keys(computed.attributions);
  let attributions: Record<string, unknown>;
  if (Array.isArray(claimed.attributions)) {
    if (claimed.attributions.length !== features.length) throw new InputError(`--check: ${claimed.attributions.length} attributions for ${features.length} features`);
    attributions = Object.fromEntries(features.map((feature, index) => [feature, (claimed.attributions as unknown[])[index]]));
  } else if (claimed.attributions !== null && typeof claimed.attributions === 'object') {
    attributions = claimed.attributions as Record<string, unknown>;
  } else {
    throw new InputError('--check: the explanation needs "attributions", an object of feature: number (or a list in column order)');
  }
  const missing = features.filter((feature) => typeof attributions[feature] !== 'number');
  const rows = features.filter((feature) => !missing.includes(feature)).map((feature) => {
    const vendorValue = attributions[feature] as number;
    const difference = vendorValue - computed.attributions[feature];
    return { feature, vendor: vendorValue, computed: computed.attributions[feature], difference, agrees: Math.abs(difference) <= tolerance };
  });
  const baseDifference = claimed.base_value - computed.base_value;
  const vendorSum = rows.reduce((sum, row) => sum + row.vendor, 0);
  return {
    agrees: missing.length === 0 && Math.abs(baseDifference) <= tolerance && rows.every((row) => row.agrees),
    tolerance,
    base_value: { vendor: claimed.base_value, computed: computed.base_value, difference: baseDifference },
    vendor_locally_accurate: Math.abs(vendorSum - (computed.value - claimed.base_value)) <= tolerance,
    features: rows,
    missing,
  };
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(4)}`;
}

/** Attributions sorted by magnitude, with the base value and f(x). */
export function formatExplanation(payload: ExplanationPayload, instance: readonly number[], columns: readonly string[]): string {
  const order = columns.map((column, index) => ({ column, value: instance[index], attribution: payload.attributions[column] }))
    .sort((left, right) => Math.abs(right.attribution) - Math.abs(left.attribution));
  const width = Math.max('FEATURE'.length, ...columns.map((column) => column.length));
  const valueWidth = Math.max('VALUE'.length, ...order.map((row) => String(row.value).length));
  const method = payload.exact ? `exact Kernel SHAP over all ${payload.coalitions} coalitions` : `Kernel SHAP from ${payload.coalitions} sampled coalitions`;
  const lines = [
    `f(x) = ${payload.value.toFixed(4)}   base value E[f(background)] = ${payload.base_value.toFixed(4)}   (${payload.background_rows} background rows)`,
    `${method}; ${payload.evaluations} rows scored in ${payload.requests} request${payload.requests === 1 ? '' : 's'}`,
    '',
    `${'FEATURE'.padEnd(width)}  ${'VALUE'.padStart(valueWidth)}  ATTRIBUTION`,
    ...order.map((row) => `${row.column.padEnd(width)}  ${String(row.value).padStart(valueWidth)}  ${signed(row.attribution)}`),
    '',
    `sum of attributions ${signed(payload.value - payload.base_value)} = f(x) − base value`,
  ];
  return `${lines.join('\n')}\n`;
}

function formatCheck(check: CheckResult): string {
  const lines = ['', `Vendor explanation check (tolerance ${check.tolerance}):`,
    `  base value: vendor ${check.base_value.vendor.toFixed(4)}, computed ${check.base_value.computed.toFixed(4)}${Math.abs(check.base_value.difference) > check.tolerance ? '  DISAGREES' : ''}`];
  for (const row of check.features) {
    lines.push(`  ${row.feature}: vendor ${signed(row.vendor)}, computed ${signed(row.computed)}${row.agrees ? '' : '  DISAGREES'}`);
  }
  if (check.missing.length > 0) lines.push(`  missing from the vendor's explanation: ${check.missing.join(', ')}`);
  if (!check.vendor_locally_accurate) lines.push('  the vendor\'s attributions do not sum to f(x) − its base value');
  lines.push(check.agrees ? 'Result: the vendor\'s explanation agrees.' : 'Result: the vendor\'s explanation DISAGREES with the computed one.');
  return `${lines.join('\n')}\n`;
}

/** Explain one instance; exit 1 when --check finds the vendor's explanation disagrees. */
export async function runExplain(options: ExplainOptions, output: CommandOutput): Promise<ExitCode> {
  const timeoutSeconds = Number(options.timeout);
  if (!(timeoutSeconds > 0)) throw new InputError(`--timeout must be a positive number of seconds, got "${options.timeout}"`);
  const tolerance = Number(options.tolerance);
  if (!(tolerance >= 0)) throw new InputError(`--tolerance must be a number of at least 0, got "${options.tolerance}"`);
  const outputIndex = options.outputIndex === undefined ? undefined : Number(options.outputIndex);
  if (outputIndex !== undefined && !(Number.isInteger(outputIndex) && outputIndex >= 0)) throw new InputError(`--output-index must be a whole number from 0, got "${options.outputIndex}"`);
  const maxBackground = positiveInteger(options.maxBackground, '--max-background');
  const batchRows = positiveInteger(options.batchRows, '--batch-rows');
  const samples = options.samples === undefined ? undefined : positiveInteger(options.samples, '--samples');
  const seed = Number(options.seed);
  if (!Number.isInteger(seed)) throw new InputError(`--seed must be a whole number, got "${options.seed}"`);

  const table = readCsvFile(options.background);
  if (table.rows.length === 0) throw new InputError(`${options.background} has no rows under its header`);
  const columns = options.features === undefined ? table.columns : options.features.split(',').map((feature) => feature.trim()).filter(Boolean);
  for (const column of columns) requireColumn(table, column, options.background, '--features');
  if (columns.length === 0) throw new InputError('--features names no columns');
  const allRows = numericRows(table, columns, options.background);
  const background = thinRows(allRows, maxBackground);
  if (background.length < allRows.length) output.stderr(`covenant explain: using ${background.length} evenly spaced rows of the ${allRows.length} in ${options.background} (--max-background)\n`);
  const instance = instanceVector(readJsonArgument(options.instance, '--instance'), columns);
  const vendor = options.check === undefined ? undefined : readJsonArgument(`@${options.check}`, '--check');

  const model = kserveEvaluator({ endpoint: options.endpoint, timeoutMs: timeoutSeconds * 1000, outputIndex });
  let explanation: ShapExplanation;
  try {
    explanation = await kernelShap(model.evaluate, instance, background, { samples, seed, batchRows });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError((error as Error).message);
  }
  const payload: ExplanationPayload = {
    method: 'kernel_shap',
    value: explanation.value,
    base_value: explanation.baseValue,
    attributions: Object.fromEntries(columns.map((column, index) => [column, explanation.attributions[index]])),
    exact: explanation.exact,
    coalitions: explanation.coalitions,
    evaluations: explanation.evaluations,
    requests: model.requests(),
    background_rows: background.length,
  };
  const check = vendor === undefined ? undefined : checkExplanation(vendor, payload, tolerance);
  if (options.json) output.stdout(`${JSON.stringify(check ? { ...payload, check } : payload, null, 2)}\n`);
  else output.stdout(formatExplanation(payload, instance, columns) + (check ? formatCheck(check) : ''));
  return check && !check.agrees ? exitCodes.breach : exitCodes.ok;
}

export function registerExplainCommand(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  program
    .command('explain')
    .description('Kernel SHAP attributions of one instance from a black-box model speaking KServe v1 (exit 1 when --check disagrees)')
    .requiredOption('--endpoint <url>', 'the model\'s predict URL (POST {"instances": [[…]]} → {"predictions": […]})')
    .requiredOption('--background <file.csv>', 'reference rows with a header; the feature columns must be numeric')
    .requiredOption('--instance <json>', 'the instance: a JSON array in column order or an object of feature: number (@file.json reads a file)')
    .option('--features <columns>', 'comma-separated background columns to use, in the model\'s input order (default: every column)')
    .option('--output-index <n>', 'which element to explain when each prediction is a list (e.g. a class probability)')
    .option('--max-background <n>', 'use at most this many evenly spaced background rows', '100')
    .option('--samples <n>', 'coalitions to sample beyond 12 features (default 2M + 2048)')
    .option('--seed <n>', 'seed of the coalition sampler', '0')
    .option('--batch-rows <n>', 'rows per request to the model', '2000')
    .option('--timeout <seconds>', 'give up on a request to the model after this long', '30')
    .option('--check <file.json>', 'a vendor\'s explanation {base_value, attributions} to compare with the computed one')
    .option('--tolerance <number>', 'largest acceptable difference of the base value and of each attribution', '0.01')
    .option('--json', 'print the explanation as JSON (the decisions API\'s explanation shape)')
    .action((options: ExplainOptions) => runCommand(write, 'explain', () => runExplain(options, write)));
}
