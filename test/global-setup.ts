// Vitest global setup: compile src/ to dist/ before the tests, because the CLI tests run bin/covenant, which loads dist/.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureConsoleBuilt } from './helpers/console-build.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Hash of the sources dist/ was last built from by this setup; a build that failed writes none. */
const stampFile = join(root, 'dist', '.source-hash');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  }).sort();
}

/** A hash of every input of the build (names and contents), so an unchanged tree skips the compiler. */
export function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [join(root, 'tsconfig.json'), ...sourceFiles(join(root, 'src'))]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function compile(): Promise<void> {
  const compiler = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [compiler, '-p', 'tsconfig.json'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tsc -p tsconfig.json failed, so dist/ would not match the source:\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/** Build dist/ unless it was already built from exactly these sources. */
export default async function setup(): Promise<void> {
  // The console's page (dist-ui/) too, once before every test file, so no two files build it at the same time.
  await ensureConsoleBuilt();
  const hash = sourceHash();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) return;
  // tsc writes dist/ even when it reports errors: forget the old stamp first, so a failed build is never taken as current.
  rmSync(stampFile, { force: true });
  await compile();
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(stampFile, hash);
}
