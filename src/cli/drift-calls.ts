// How `covenant drift` talks to the running gateway as a client: the key it is charged to, the suite's calls, embeddings.
import { performance } from 'node:perf_hooks';
import type { LoadedConfig } from '../config/load.js';
import type { Sample } from '../drift/baseline.js';
import { isRefusal } from '../drift/refusal.js';
import type { SuiteItem } from '../drift/suite.js';
import { InputError } from './command.js';

/** The header a golden run sends to ask for a specific registry version of the alias (the version resolver honours it). */
export const modelVersionHeader = 'x-covenant-model-version';

export interface KeySecret {
  /** `department/name`, as the ledger and reports name it. */
  name: string;
  department: string | null;
  secret: string;
}

/**
 * The secret of the key a run is charged to: `--key NAME` (`name` or `department/name`) is looked up in the config's
 * departments and read from its `key_env` variable; `--key-env VAR` reads a key made by the admin API from VAR.
 */
export function keySecret(options: { key?: string; keyEnv?: string }, config: LoadedConfig | undefined, environment: Record<string, string | undefined>): KeySecret {
  if (options.keyEnv !== undefined) {
    const secret = environment[options.keyEnv];
    if (!secret) throw new InputError(`set ${options.keyEnv} to the virtual key the run is charged to`);
    return { name: options.key ?? options.keyEnv, department: null, secret };
  }
  if (options.key === undefined) throw new InputError('--key NAME is required: the config key the run\'s calls are charged to (or --key-env VAR for a key made by the admin API)');
  if (config === undefined) throw new InputError(`--key ${options.key} is looked up in the config: pass --config FILE or set COVENANT_CONFIG (or give the secret with --key-env VAR)`);
  const [department, name] = options.key.includes('/') ? options.key.split('/', 2) as [string, string] : [undefined, options.key];
  const matches = config.raw.org.departments.flatMap((entry) => entry.keys
    .filter((key) => key.name === name && (department === undefined || entry.name === department))
    .map((key) => ({ department: entry.name, key })));
  if (matches.length === 0) throw new InputError(`no key "${options.key}" in ${config.file} (name it as department/name, or give a key made by the admin API with --key-env VAR)`);
  if (matches.length > 1) throw new InputError(`key "${options.key}" is in several departments (${matches.map((match) => match.department).join(', ')}): name it as department/name`);
  const match = matches[0]!;
  const secret = environment[match.key.key_env];
  if (!secret) throw new InputError(`set ${match.key.key_env}: it holds the secret of key ${match.department}/${match.key.name} (its key_env in ${config.file})`);
  return { name: `${match.department}/${match.key.name}`, department: match.department, secret };
}

export interface CallTarget {
  url: string;
  secret: string;
  alias: string;
  version: string | undefined;
}

/** The message of an error answer in the OpenAI shape, else its text. */
function errorText(status: number, text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    return `HTTP ${status}: ${message ?? text}`;
  } catch {
    return `HTTP ${status}: ${text.slice(0, 300)}`;
  }
}

async function post(target: CallTarget, path: string, body: unknown): Promise<{ json: Record<string, unknown>; headers: Headers; latencyMs: number }> {
  const headers: Record<string, string> = { authorization: `Bearer ${target.secret}`, 'content-type': 'application/json' };
  if (target.version !== undefined) headers[modelVersionHeader] = target.version;
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(new URL(path, target.url), { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(600_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new InputError(`cannot reach the gateway at ${target.url}: ${cause?.code ?? (error as Error).message}`);
  }
  const text = await response.text();
  const latencyMs = performance.now() - started;
  if (!response.ok) throw new InputError(`the gateway answered ${errorText(response.status, text)}`);
  return { json: JSON.parse(text) as Record<string, unknown>, headers: response.headers, latencyMs };
}

/** x-covenant-cost-usd (a decimal string of dollars) in micro-dollars; 0 when absent. */
export function costMicrosOf(headers: Headers): number {
  const value = Number(headers.get('x-covenant-cost-usd') ?? '0');
  return Number.isFinite(value) ? Math.round(value * 1_000_000) : 0;
}

/** One chat completion for a suite item: its answer, latency as the client saw it, tokens, version and cost. */
export async function callItem(target: CallTarget, item: SuiteItem): Promise<Sample> {
  const { json, headers, latencyMs } = await post(target, '/v1/chat/completions', { model: target.alias, messages: item.messages });
  const choice = (json.choices as { message?: { content?: unknown; refusal?: string | null } }[] | undefined)?.[0];
  const content = choice?.message?.content;
  const output = typeof content === 'string' ? content : content === null || content === undefined ? '' : JSON.stringify(content);
  const usage = json.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined;
  return {
    output,
    latency_ms: Math.round(latencyMs * 1000) / 1000,
    output_tokens: usage?.completion_tokens ?? 0,
    input_tokens: usage?.prompt_tokens ?? 0,
    model: typeof json.model === 'string' ? json.model : null,
    system_fingerprint: typeof json.system_fingerprint === 'string' ? json.system_fingerprint : null,
    refused: isRefusal(output, choice?.message?.refusal),
    cost_usd_micros: costMicrosOf(headers),
  };
}

/** Embeddings of texts from an embedding alias through the gateway (metered like any call); returns vectors and cost. */
export async function embedThroughGateway(target: CallTarget, texts: string[]): Promise<{ vectors: number[][]; costMicros: number }> {
  if (texts.length === 0) return { vectors: [], costMicros: 0 };
  // Empty strings are not valid embedding inputs; a single space stands in (an empty answer still gets a vector).
  const { json, headers } = await post({ ...target, version: undefined }, '/v1/embeddings', { model: target.alias, input: texts.map((text) => text || ' ') });
  const data = (json.data as { index: number; embedding: number[] }[] | undefined) ?? [];
  const vectors = new Array<number[]>(texts.length);
  for (const entry of data) vectors[entry.index] = entry.embedding;
  if (vectors.some((vector) => !Array.isArray(vector))) throw new InputError(`the embedding alias ${target.alias} did not return one vector per text`);
  return { vectors, costMicros: costMicrosOf(headers) };
}

/** Run `task` over `inputs`, at most `concurrency` at a time, keeping their order; `onDone` after each. */
export async function mapConcurrently<Input, Output>(inputs: readonly Input[], concurrency: number, task: (input: Input) => Promise<Output>, onDone: () => void): Promise<Output[]> {
  const results = new Array<Output>(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const index = next++;
      results[index] = await task(inputs[index]!);
      onDone();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, inputs.length)) }, worker));
  return results;
}

/** A progress bar on stderr when it is a terminal: `[#####.....] 12/40 baseline`; a no-op otherwise. */
export function progressBar(total: number, label: string, stream: NodeJS.WriteStream = process.stderr): { tick(): void; done(): void } {
  if (!stream.isTTY || total === 0) return { tick() {}, done() {} };
  let count = 0;
  const width = 30;
  const draw = () => {
    const filled = Math.round((count / total) * width);
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}/${total} ${label}`);
  };
  draw();
  return {
    tick() { count += 1; draw(); },
    done() { stream.write('\n'); },
  };
}
