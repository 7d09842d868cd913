// Test helper: start a Covenant app on a random port with a config text and its own temporary SQLite file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../../src/gateway/app.js';

export interface TestGateway extends App {
  directory: string;
  stop(): Promise<void>;
}

/** `configText` may use {{DB}} for the SQLite path; it is written to `<directory>/covenant.yaml`, so reload reads that file. */
export async function startTestGateway(configText: string, environment: Record<string, string> = {}): Promise<TestGateway> {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-test-'));
  const text = configText.replaceAll('{{DB}}', join(directory, 'covenant.db'));
  const configFile = join(directory, 'covenant.yaml');
  writeFileSync(configFile, text);
  const app = await startApp({ configFile, environment, host: '127.0.0.1', port: 0 });
  return Object.assign(app, {
    directory,
    async stop() {
      await app.close();
      rmSync(directory, { recursive: true, force: true });
    },
  });
}
