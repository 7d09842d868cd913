// The load generator: N connections each sending one request after another (closed loop), or requests paced at a fixed
// rate over N connections (open loop, `rate`), warm-up, then a timed window.
//
// Closed loop measures the most a server can do: at saturation, latency is mostly queueing behind CPU time. Paced load
// measures what a request costs when the server keeps up: latency runs from the moment the request was due (not from
// when a connection became free), so a stalled server is charged for every request it delayed (no coordinated omission).
//
// Runs as its own process, forked by bench/run.mjs with an IPC channel: it sends {phase: 'measuring'} when the window
// opens and {phase: 'measured'} when it closes (so the parent can sample the servers' CPU time), then
// {phase: 'done', result}. Latency runs from just before the request is sent to the last byte of the response,
// timed with performance.now() (sub-microsecond); every sample is kept, so percentiles are exact, not bucketed.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/**
 * @typedef {object} LoadOptions
 * @property {string} url           base URL of the server under test (http://127.0.0.1:PORT)
 * @property {string[]} [urls]      several servers (replicas): connections are spread over them round-robin
 * @property {string} path          e.g. /v1/chat/completions
 * @property {Record<string,string>} headers
 * @property {string} body          the request body, sent as is
 * @property {boolean} stream       expect SSE ending in `data: [DONE]`
 * @property {number} connections
 * @property {number} warmupSeconds
 * @property {number} durationSeconds
 * @property {number} [rate]        requests per second, paced (open loop); absent: closed loop
 */

/** @param {LoadOptions} options */
export async function runLoad(options, onMeasuring = () => {}, onMeasured = () => {}) {
  const urls = options.urls ?? [options.url];
  const pools = urls.map((url) => new Pool(url, { connections: Math.ceil(options.connections / urls.length), pipelining: 1, keepAliveTimeout: 60_000 }));
  const body = Buffer.from(options.body);
  const headers = { ...options.headers, 'content-type': 'application/json' };
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  const errorSamples = [];
  let measuring = false;
  let stopping = false;

  const record = (latency) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = latency;
  };

  /** Closed loop: the next request as soon as the last answer is read. */
  async function worker(pool) {
    while (!stopping) await one(pool, performance.now());
  }

  /** One request due at `due` (performance.now() time); counted when it was due and ended inside the window. */
  async function one(pool, due) {
    const counted = measuring;
    let failure;
    try {
      const response = await pool.request({ path: options.path, method: 'POST', headers, body });
      const text = await response.body.text();
      if (response.statusCode !== 200) failure = `HTTP ${response.statusCode}: ${text.slice(0, 300)}`;
      else if (options.stream && !text.endsWith('data: [DONE]\n\n')) failure = `stream did not end with [DONE]: ${text.slice(-200)}`;
    } catch (error) {
      failure = `${error.name}: ${error.message}`;
    }
    const latency = performance.now() - due;
    if (!counted || !measuring) return;
    if (failure) {
      errors++;
      if (errorSamples.length < 3) errorSamples.push(failure);
    } else {
      record(latency);
    }
  }

  /** Paced: request i is due at start + i / rate, spread round-robin over the pools (each holds its share of connections). */
  async function pacer() {
    const interval = 1000 / options.rate;
    const inflight = new Set();
    let due = performance.now();
    let sent = 0;
    while (!stopping) {
      const now = performance.now();
      while (due <= now) {
        const request = one(pools[sent++ % pools.length], due);
        inflight.add(request);
        request.finally(() => inflight.delete(request));
        due += interval;
      }
      await sleep(Math.max(0, Math.min(1, due - performance.now())));
    }
    await Promise.all(inflight);
  }

  const workers = options.rate ? [pacer()] : Array.from({ length: options.connections }, (_, index) => worker(pools[index % pools.length]));
  await sleep(options.warmupSeconds * 1000);
  onMeasuring();
  measuring = true;
  const windowStart = performance.now();
  await sleep(options.durationSeconds * 1000);
  measuring = false;
  const windowMs = performance.now() - windowStart;
  onMeasured();
  stopping = true;
  await Promise.all(workers);
  await Promise.all(pools.map((pool) => pool.close()));

  const sorted = latencies.subarray(0, count).sort();
  const percentile = (fraction) => (count === 0 ? NaN : sorted[Math.min(count - 1, Math.ceil(fraction * count) - 1)]);
  let sum = 0;
  for (let index = 0; index < count; index++) sum += sorted[index];
  return {
    requests: count,
    errors,
    errorSamples,
    windowMs,
    requestsPerSecond: count / (windowMs / 1000),
    latencyMs: {
      mean: count === 0 ? NaN : sum / count,
      p50: percentile(0.5),
      p90: percentile(0.9),
      p99: percentile(0.99),
      max: count === 0 ? NaN : sorted[count - 1],
    },
  };
}

function sleep(milliseconds) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

// As a forked child: options come as the first argument (JSON), results go back over IPC.
if (process.send && process.argv[2]) {
  // If the parent dies, stop loading the machine.
  process.on('disconnect', () => process.exit(1));
  const options = JSON.parse(process.argv[2]);
  runLoad(options, () => process.send({ phase: 'measuring' }), () => process.send({ phase: 'measured' })).then(
    (result) => process.send({ phase: 'done', result }, () => process.exit(0)),
    (error) => process.send({ phase: 'failed', message: error.stack ?? String(error) }, () => process.exit(1)),
  );
}
