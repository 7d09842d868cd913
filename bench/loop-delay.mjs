// Preloaded into a benchmarked server with `node --import` (bench/run.mjs --loop-delay): its event loop's delay.
//
// A 1 ms timer notes how late each of its firings is: a loop busy with work, collecting garbage, or a process the
// machine did not run. On SIGUSR2 it prints one line about the time since the last SIGUSR2 (or start) and starts
// over: `bench-loop-delay {"p99":ms,"max":ms,"stallsOver5":n,"seconds":s}`, stallsOver5 being the firings more than
// 5 ms late. Comparing servers tells code from machine: the minimal proxy does next to nothing per event, so its
// stalls are the machine's. The timer itself wakes the process 1000 times a second, so this is a diagnostic, off by
// default.
import { performance } from 'node:perf_hooks';

const intervalMs = 1;
let lateness = new Float64Array(1 << 14);
let count = 0;
let since = performance.now();
let due = performance.now() + intervalMs;

setInterval(() => {
  const now = performance.now();
  if (count === lateness.length) {
    const grown = new Float64Array(lateness.length * 2);
    grown.set(lateness);
    lateness = grown;
  }
  lateness[count++] = Math.max(0, now - due);
  due = now + intervalMs;
}, intervalMs).unref();

process.on('SIGUSR2', () => {
  const sorted = lateness.subarray(0, count).sort();
  let stalls = 0;
  for (let index = 0; index < count; index++) if (sorted[index] > 5) stalls++;
  const report = {
    p99: count === 0 ? 0 : sorted[Math.min(count - 1, Math.ceil(0.99 * count) - 1)],
    max: count === 0 ? 0 : sorted[count - 1],
    stallsOver5: stalls,
    seconds: (performance.now() - since) / 1000,
  };
  process.stderr.write(`bench-loop-delay ${JSON.stringify(report)}\n`);
  count = 0;
  since = performance.now();
});
