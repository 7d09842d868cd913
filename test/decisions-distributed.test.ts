// Decision oversight on two gateway replicas sharing PostgreSQL (and Redis): a decision taken on one is reviewed on the
// other, and a suspension made by one replica's bias monitor sends the other replica's next decision to a person.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { closeReplicaSet, type ReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl } from './helpers/services.js';

const environment = { ADMIN_KEY: 'sk-dist-admin', KEY_HR: 'sk-dist-hr' };
let set: ReplicaSet;

async function startReplica(index: number): Promise<App> {
  const schema = set.schema!;
  const file = join(set.directory!, `replica-${index}.yaml`);
  writeFileSync(file, `
store: ${schema.url}?schema=${schema.schema}
cache: ${redisUrl}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: hr
      keys: [ { name: ats, key_env: KEY_HR } ]
systems:
  - name: hiring
    department: hr
    fairness: { attribute: sex, min_impact_ratio: 0.8, window: 30d, min_group_size: 2 }
`);
  const app = await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 });
  set.replicas.push(app);
  return app;
}

async function post(app: App, path: string, key: string, body: unknown): Promise<any> {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return response.json();
}

beforeEach(() => {
  set = { replicas: [], schema: createTestSchema(), directory: mkdtempSync(join(tmpdir(), 'covenant-decisions-dist-')) };
});

afterEach(async () => {
  await closeReplicaSet(set);
});

describe('decision oversight across replicas', () => {
  it('reviews on one replica what another took, and shares a suspension', async () => {
    const first = await startReplica(0);
    const second = await startReplica(1);
    const hire = (app: App, sex: string, recommendation: string) => post(app, '/v1/decisions', 'sk-dist-hr', {
      system: 'hiring', subject_ref: `cv-${Math.random()}`, recommendation, model_version: 'h1', protected: { sex },
    });
    await hire(first, 'male', 'approve');
    await hire(second, 'male', 'approve');
    const rejected = [await hire(first, 'female', 'reject'), await hire(first, 'female', 'reject')];
    const queue = await (await fetch(`${second.url}/admin/reviews`, { headers: { authorization: 'Bearer sk-dist-admin' } })).json() as { data: { id: string }[] };
    expect(queue.data.map((decision) => decision.id).sort()).toEqual(rejected.map((decision) => decision.id).sort());
    for (const decision of rejected) {
      expect(await post(second, `/admin/reviews/${decision.id}`, 'sk-dist-admin', { outcome: 'reject', rationale: 'confirmed' })).toMatchObject({ status: 'final' });
    }
    // The second replica's review made the women 0 of 2 against the men's 2 of 2: suspended for both replicas.
    expect((await hire(first, 'male', 'approve')).status).toBe('pending_review');
    const entries = await first.stores.ledger.entries({ kind: 'system.suspended', limit: 10 });
    expect(entries).toHaveLength(1);
    expect(await post(first, '/admin/systems/hiring/resume', 'sk-dist-admin', { reason: 'checked' })).toMatchObject({ status: 'resumed' });
    expect((await hire(second, 'male', 'approve')).status).toBe('final');
  });
});
