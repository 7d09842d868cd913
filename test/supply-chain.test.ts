// The supply chain as the lock file pins it: every package from the npm registry (over HTTPS) with an integrity hash,
// and install scripts only in the packages allowed below (a new dependency that runs code at install time fails here).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Packages allowed to run a script at install, and why (README: Security, Supply chain). */
const allowedInstallScripts: Record<string, string> = {
  'node_modules/better-sqlite3': 'native build of SQLite: a prebuilt binary (prebuild-install), else node-gyp',
  'node_modules/esbuild': 'development only (tsx, vitest): checks its platform binary',
  'node_modules/protobufjs': 'OpenTelemetry exporter dependency: prints a warning on a version-scheme mismatch, nothing else',
};

interface LockedPackage { version?: string; resolved?: string; integrity?: string; hasInstallScript?: boolean; link?: boolean; dev?: boolean }
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockedPackage> };
const installed = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.link);

describe('the lock file', () => {
  it('pins every package to the npm registry over HTTPS with an integrity hash', () => {
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3);
    expect(installed.length).toBeGreaterThan(50);
    for (const [path, entry] of installed) {
      // npm leaves `resolved` out for packages from the default registry; one that names another source must be HTTPS npm.
      if (entry.resolved !== undefined) expect(entry.resolved, path).toMatch(/^https:\/\/registry\.npmjs\.org\//);
      expect(entry.integrity, path).toMatch(/^sha(256|384|512)-/);
    }
  });

  it('runs install scripts only where they are allowed', () => {
    const withScripts = installed.filter(([, entry]) => entry.hasInstallScript).map(([path]) => path).sort();
    expect(withScripts).toEqual(Object.keys(allowedInstallScripts).sort());
  });
});
