// Test helper (run by the global setup): build the console (ui/ → dist-ui/) when its sources are newer than the built page, so browser tests never see a stale one.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
  const { build } = await import('vite');
  await build({ configFile: join(root, 'ui', 'vite.config.ts'), logLevel: 'warn' });
}
