// Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions and files with the most self time.
// `node bench/profile-summary.mjs FILE.cpuprofile [N]`. The benchmark passes its measurement window (in microseconds
// of the monotonic clock, which V8's profile timestamps use on Linux) so start-up work is left out.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function shortLocation(url) {
  if (!url) return '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const relative = path.isAbsolute(file) ? path.relative(root, file) : file;
  // node_modules/<package>/… is enough to name the package.
  return relative.replace(/^.*node_modules\//, 'node_modules/');
}

/**
 * Self time by function and by file, in milliseconds and as a share of all samples (idle excluded).
 * @param {{start: number, end: number}} [window] only samples taken inside it (microseconds, monotonic clock)
 */
export function profileHotSpots(file, window) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  let time = profile.startTime;
  for (let index = 0; index < profile.samples.length; index++) {
    const delta = profile.timeDeltas[index] ?? 0;
    time += delta;
    if (window && (time < window.start || time > window.end)) continue;
    const id = profile.samples[index];
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  }
  const byFunction = new Map();
  const byFile = new Map();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    total += micros;
    const location = shortLocation(frame.url);
    // lineNumber is 0-based in the profile; people read 1-based lines.
    const key = `${frame.functionName || '(anonymous)'}  ${location}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const fileKey = frame.url ? location : frame.functionName;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + micros);
  }
  const ranked = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([name, micros]) => ({ name, ms: micros / 1000, share: total === 0 ? 0 : micros / total }));
  return { totalMs: total / 1000, functions: ranked(byFunction), files: ranked(byFile) };
}

export function summarizeProfile(file, limit = 15, indent = '', window = undefined) {
  const spots = profileHotSpots(file, window);
  const line = (entry) => `${indent}${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.ms.toFixed(0).padStart(6)} ms  ${entry.name}`;
  return [
    `${indent}busy (non-idle) samples${window ? ' in the measurement window' : ''}: ${spots.totalMs.toFixed(0)} ms`,
    `${indent}by function:`,
    ...spots.functions.slice(0, limit).map(line),
    `${indent}by file:`,
    ...spots.files.slice(0, limit).map(line),
  ].join('\n');
}

/**
 * The functions whose self time per request differs most between two profiles of the same load (`requests` each):
 * what a feature costs, function by function, in microseconds per request.
 */
export function profileDifference(baseFile, featureFile, requests, limit = 25, window = undefined) {
  const base = new Map(profileHotSpots(baseFile, window).functions.map((entry) => [entry.name, entry.ms]));
  const feature = new Map(profileHotSpots(featureFile, window).functions.map((entry) => [entry.name, entry.ms]));
  const perRequest = (ms) => (ms * 1000) / requests;
  const names = new Set([...base.keys(), ...feature.keys()]);
  const rows = [...names].map((name) => ({ name, base: perRequest(base.get(name) ?? 0), feature: perRequest(feature.get(name) ?? 0) }))
    .map((row) => ({ ...row, difference: row.feature - row.base }))
    .sort((left, right) => Math.abs(right.difference) - Math.abs(left.difference));
  const sum = (key) => rows.reduce((total, row) => total + row[key], 0);
  const format = (value) => value.toFixed(1).padStart(8);
  return [
    `self time per request (µs): ${path.basename(baseFile)} ${sum('base').toFixed(1)}, ${path.basename(featureFile)} ${sum('feature').toFixed(1)}`,
    `    base   feature  difference  function`,
    ...rows.slice(0, limit).map((row) => `${format(row.base)}  ${format(row.feature)}  ${format(row.difference)}    ${row.name}`),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) {
    process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  process.stdout.write(`${summarizeProfile(process.argv[2], Number(process.argv[3] ?? 20))}\n`);
}
