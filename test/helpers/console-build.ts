// Test helper (run by the global setup): build the console (ui/ → dist-ui/) when its sources are newer than the built page, so browser tests never see a stale one.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function newest(folder: string): number {
  return Math.max(0, ...readdirSync(folder, { withFileTypes: true }).map((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
  }));
}

export async function ensureConsoleBuilt(): Promise<void> {
  const page = join(root, 'dist-ui', 'index.html');
  const sources = Math.max(newest(join(root, 'ui')), statSync(join(root, 'package-lock.json')).mtimeMs);
  if (existsSync(page) && statSync(page).mtimeMs >= sources) return;
  // As `npm run build:ui` does, in its own process: vite inside vitest (NODE_ENV=test) would build a development
  // bundle, and the browser tests would then try a page other than the one that ships.
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', join(root, 'ui', 'vite.config.ts')], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}
