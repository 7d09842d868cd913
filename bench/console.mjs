// Console figures: the built bundle's gzipped size, and first load (cold cache) of /ui on the demo in Debian's chromium.
// Usage: npm run build && npm run build:ui && node bench/console.mjs [--runs N]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startApp } from '../dist/gateway/app.js';
import { demoAdminKey, demoConfigText, demoEnvironment, demoUserKey } from '../dist/config/demo.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const assets = join(root, 'dist-ui', 'assets');
const files = ['index.html', ...readdirSync(assets).map((name) => join('assets', name))];
const sizes = files.map((file) => {
  const bytes = readFileSync(join(root, 'dist-ui', file));
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const total = sizes.reduce((sum, entry) => sum + entry.gzip, 0);

const directory = mkdtempSync(join(tmpdir(), 'covenant-console-bench-'));
const app = await startApp({
  configText: demoConfigText.replace('sqlite:.covenant/covenant.db', `sqlite:${join(directory, 'covenant.db')}`),
  environment: demoEnvironment, host: '127.0.0.1', port: 0,
});
for (let index = 0; index < 20; index += 1) {
  await fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${demoUserKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: `question ${index}` }] }),
  });
}
// Playwright's pipes do not hold the event loop open; this timer does until the runs are over.
const keepAlive = setInterval(() => {}, 1000);
const timings = [];
try {
  for (let run = 0; run < runs; run += 1) {
    const profile = mkdtempSync(join(tmpdir(), 'covenant-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // Cold: a fresh profile (empty cache) holding only the session cookie; from navigation to the organisation's spend shown.
    const signIn = await fetch(`${app.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: app.url }, body: JSON.stringify({ key: demoAdminKey }) });
    const [name, value] = (signIn.headers.get('set-cookie') ?? '').split(';')[0].split('=');
    await context.addCookies([{ name, value, url: app.url, httpOnly: true, sameSite: 'Strict' }]);
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto('about:blank');
    const started = performance.now();
    await page.goto(`${app.url}/ui/`);
    await page.getByTestId('org-spent-month').waitFor();
    timings.push(performance.now() - started);
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await app.close();
  clearInterval(keepAlive);
  rmSync(directory, { recursive: true, force: true });
}
timings.sort((a, b) => a - b);
const median = timings[Math.floor(timings.length / 2)];
for (const entry of sizes) console.log(`${entry.file.padEnd(32)} ${String(entry.raw).padStart(7)} B  gzip ${String(entry.gzip).padStart(6)} B`);
console.log(`bundle total gzip: ${(total / 1024).toFixed(1)} KB (target < 250 KB)`);
console.log(`first load to the organisation's spend, cold cache, ${runs} runs: median ${median.toFixed(0)} ms, min ${timings[0].toFixed(0)} ms, max ${timings.at(-1).toFixed(0)} ms (target < 1000 ms)`);
