// Heap and time per end user in the embedded per-user state: the memory rate-limit store's counters, filled as a
// stream of new users would fill them. Usage: node --expose-gc bench/per-user-memory.mjs [--dist DIR] [--users N].
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist') },
    users: { type: 'string', default: '200000' },
  },
});
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const dist = path.resolve(values.dist);
const users = Number(values.users);
const { createMemoryRateLimitStore } = await import(path.join(dist, 'stores/memory/rate-limit-store.js'));

/** Heap in use after a full collection, bytes. */
const heap = () => {
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

// A key's and a department's rule shared by every request, and a user's rule per request, as the rate-limit stage sends them.
const limit = { rpm: 1_000_000, tpm: 1_000_000_000, concurrent: 16 };
const shared = [
  { scope: 'key:key_0123456789abcdef0123', label: 'key "d1/k1"', ...limit },
  { scope: 'department:d1', label: 'department "d1"', ...limit },
];
const store = createMemoryRateLimitStore();
const start = 1_800_000_000_000;
const request = { id: '', nowMs: 0, tokens: 0, rules: shared, leaseMs: 60_000 };
const before = heap();
const began = performance.now();
for (let index = 0; index < users; index++) {
  const user = `u${index}`;
  const rules = [...shared, { scope: `user:d1/${user}`, label: `end user "${user}" of department "d1"`, ...limit }];
  // 2,000 new users a second, each released at once, as a stream of first requests.
  const nowMs = start + Math.floor(index / 2) ;
  request.id = `request-${index}`;
  request.nowMs = nowMs;
  request.tokens = 900;
  request.rules = rules;
  store.acquire(request);
  store.release({ id: request.id, admittedMs: nowMs, nowMs, tokenDelta: -800, rules });
}
const elapsed = performance.now() - began;
const held = heap() - before;
console.log(JSON.stringify({
  users, counters: store.size, bytesPerCounter: Math.round(held / store.size), heldMegabytes: Number((held / 1048576).toFixed(1)),
  microsecondsPerRequest: Number(((elapsed * 1000) / users).toFixed(3)),
}));
globalThis.keep = store;
