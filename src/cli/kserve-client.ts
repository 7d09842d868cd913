// Scores rows on a model that speaks the KServe v1 protocol: POST {"instances": [[…]]} → {"predictions": […]}.
import type { BatchEvaluator } from '../core/shap.js';
import { InputError } from './command.js';

export interface KserveOptions {
  /** The model's predict URL, e.g. http://host/v1/models/credit:predict. */
  endpoint: string;
  timeoutMs: number;
  /** Which element to take when each prediction is a list (class probabilities). */
  outputIndex?: number;
}

/** A batch evaluator over HTTP that counts its requests; every failure is an input error that names the endpoint. */
export function kserveEvaluator(options: KserveOptions): { evaluate: BatchEvaluator; requests: () => number } {
  let url: URL;
  try {
    url = new URL(options.endpoint);
  } catch {
    throw new InputError(`--endpoint "${options.endpoint}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`--endpoint must be an http(s) URL, got ${url.protocol}`);
  let requests = 0;
  const evaluate: BatchEvaluator = async (rows) => {
    requests += 1;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ instances: rows }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new InputError(`the model at ${url.href} did not answer within ${options.timeoutMs} ms`);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new InputError(`cannot reach the model at ${url.href}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) throw new InputError(`the model at ${url.href} answered HTTP ${response.status}: ${text.slice(0, 300)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new InputError(`the model at ${url.href} answered something that is not JSON: ${text.slice(0, 120)}`);
    }
    const predictions = (body as { predictions?: unknown }).predictions;
    if (!Array.isArray(predictions)) throw new InputError(`the model at ${url.href} answered without a "predictions" list (KServe v1 expects {"predictions": [...]})`);
    if (predictions.length !== rows.length) throw new InputError(`the model at ${url.href} answered ${predictions.length} predictions for ${rows.length} instances`);
    return predictions.map((prediction, index) => scalar(prediction, index, options.outputIndex, url.href));
  };
  return { evaluate, requests: () => requests };
}

function scalar(prediction: unknown, index: number, outputIndex: number | undefined, href: string): number {
  let value = prediction;
  if (Array.isArray(value)) {
    if (outputIndex !== undefined) value = value[outputIndex];
    else if (value.length === 1) value = value[0];
    else throw new InputError(`the model at ${href} answers a list of ${value.length} numbers per instance; choose one with --output-index`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InputError(`prediction ${index} from ${href} is not a finite number: ${JSON.stringify(prediction)?.slice(0, 80)}`);
  }
  return value;
}
