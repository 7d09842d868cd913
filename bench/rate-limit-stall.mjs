// The embedded rate-limit store under a stream of new end users: the longest acquire (a request the store stalls)
// and the counters it holds. Usage: node bench/rate-limit-stall.mjs [--dist DIR] [--users N] [--rate N] (after `npm run build`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    users: { type: 'string', default: '600000' },
    // New end users a second (simulated time): the scale benchmark's rate.
    rate: { type: 'string', default: '3000' },
  },
});
const { createMemoryRateLimitStore } = await import(path.join(path.resolve(values.dist), 'stores/memory/rate-limit-store.js'));
const store = createMemoryRateLimitStore();
const users = Number(values.users);
const rules = (user) => [{ scope: `user:d${user % 100}/u${user}`, label: 'user', rpm: 1_000_000, tpm: 1_000_000_000, concurrent: 16 }];
let now = 1_800_000_000_000;
const stalls = [];
let largest = 0;
for (let user = 0; user < users; user += 1) {
  now += 1000 / Number(values.rate);
  const started = performance.now();
  store.acquire({ id: `r${user}`, nowMs: now, tokens: 100, rules: rules(user), leaseMs: 60_000 });
  const took = performance.now() - started;
  // After the first minute: the counters' number is steady by then (growth of the Map itself is not what is measured).
  if (user > Number(values.rate) * 90) stalls.push(took);
  store.release({ id: `r${user}`, admittedMs: now, rules: rules(user), tokenDelta: 0 });
  largest = Math.max(largest, store.size);
}
stalls.sort((first, second) => second - first);
console.log(JSON.stringify({
  users, counters: store.size, largest,
  longestAcquireMs: Number(stalls[0].toFixed(1)),
  acquiresOver10Ms: stalls.filter((took) => took > 10).length,
  acquiresOver20Ms: stalls.filter((took) => took > 20).length,
}));
