// Where a gateway's RSS goes: its mappings from /proc/PID/smaps by kind, and V8's heap spaces from its /metrics.
import { readFileSync } from 'node:fs';

const arenaBytes = 64 * 1024 * 1024;

/**
 * Resident MB of the process's mappings by kind: `file` (code, libraries, the SQLite WAL index), `brk` (glibc's main
 * arena), `arenas` (glibc's per-thread arenas: 64 MiB-aligned reservations), `anon` (the rest: V8's pages, large
 * mallocs, thread stacks), and the whole.
 */
export function mappingKinds(pid) {
  const kinds = { file: 0, brk: 0, arenas: 0, anon: 0, total: 0, anonymous: 0 };
  const lines = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
  let kind;
  let start;
  for (const line of lines) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      start = BigInt(`0x${header[1]}`);
      const name = header[4];
      if (name.startsWith('/')) kind = 'file';
      else if (name === '[heap]') kind = 'brk';
      else if (name === '' && start % BigInt(arenaBytes) === 0n && header[3] === 'rw-p') kind = 'arenas';
      else kind = 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      const megabytes = Number(rss[1]) / 1024;
      kinds[kind] += megabytes;
      kinds.total += megabytes;
    }
    const anonymous = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anonymous) kinds.anonymous += Number(anonymous[1]) / 1024;
  }
  for (const name of Object.keys(kinds)) kinds[name] = Math.round(kinds[name]);
  return kinds;
}

/** V8's heap (committed and used, MB, whole and per space), external and array buffers, from prom-client's gauges. */
export function heapSpaces(metricsText) {
  const megabytes = (value) => Math.round(Number(value) / 1024 / 1024);
  const read = (name) => megabytes(new RegExp(`^covenant_process_nodejs_${name} (\\S+)$`, 'm').exec(metricsText)?.[1]);
  const spaces = {};
  for (const match of metricsText.matchAll(/^covenant_process_nodejs_heap_space_size_(total|used)_bytes\{space="([^"]+)"\} (\S+)$/gm)) {
    const [, measure, space, value] = match;
    spaces[space] ??= {};
    spaces[space][measure === 'total' ? 'committed' : 'used'] = megabytes(value);
  }
  const large = Object.fromEntries(Object.entries(spaces).filter(([, value]) => value.committed > 0));
  return {
    committed: read('heap_size_total_bytes'), used: read('heap_size_used_bytes'),
    external: read('external_memory_bytes'), spaces: large,
  };
}

/** Per-user state gauges (covenant_state_entries) by kind. */
export function stateEntriesOf(metricsText) {
  const entries = {};
  for (const match of metricsText.matchAll(/^covenant_state_entries\{kind="([^"]+)"\} (\S+)$/gm)) entries[match[1]] = Number(match[2]);
  return entries;
}

/** Garbage collections so far by kind (major, minor, …): how many, and their pause seconds in total. */
export function collections(metricsText) {
  const kinds = {};
  for (const match of metricsText.matchAll(/^covenant_process_nodejs_gc_duration_seconds_(sum|count)\{kind="([^"]+)"\} (\S+)$/gm)) {
    const [, measure, kind, value] = match;
    kinds[kind] ??= { count: 0, seconds: 0 };
    if (measure === 'count') kinds[kind].count = Number(value);
    else kinds[kind].seconds = Number(Number(value).toFixed(2));
  }
  return kinds;
}

/** One line: RSS by mapping kind, the heap, garbage collections, and per-user state. */
export async function compositionLine(pid, url, adminSecret) {
  const mappings = mappingKinds(pid);
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${adminSecret}` } })).text();
  const heap = heapSpaces(text);
  const spaces = Object.entries(heap.spaces).map(([name, value]) => `${name.replace('_space', '')} ${value.used}/${value.committed}`).join(', ');
  return `RSS ${mappings.total} MB = file ${mappings.file} + brk ${mappings.brk} + arenas ${mappings.arenas} + other anon ${mappings.anon}; `
    + `V8 heap used/committed ${heap.used}/${heap.committed} MB (${spaces}), external ${heap.external} MB; GC ${JSON.stringify(collections(text))}; state ${JSON.stringify(stateEntriesOf(text))}`;
}
