// The console in a real browser (Debian's chromium driven by playwright-core): sign in, the spend a burst of traffic
// produced, create, edit (told when someone else changed the key first) and revoke a key, resume a suspended agent
// session, promote and roll back a model, decide a review, what each role sees, keyboard-only use, and an axe-core accessibility check and a screenshot of every page.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
import OpenAI from 'openai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = join(process.cwd(), 'test-results', 'console');
const environment = {
  ADMIN_KEY: 'sk-ui-admin', LEGAL_ADMIN: 'sk-ui-legal', AUDITOR: 'sk-ui-auditor', REVIEWER: 'sk-ui-reviewer', KEY_APP: 'sk-ui-app', KEY_AGENT: 'sk-ui-agent',
};
const configText = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: audit, key_env: AUDITOR, role: auditor }
  - { name: alice, key_env: REVIEWER, role: reviewer, department: claims }
  - { name: legal-lead, key_env: LEGAL_ADMIN, department: legal }
providers: [ { name: mock, type: mock } ]
models:
  - { alias: fast, provider: mock, version: mock-1, price: { input_per_mtok: 300, output_per_mtok: 900 } }
org:
  name: acme
  budgets: [ { usd: 100, period: month } ]
  departments:
    - name: claims
      budgets: [ { usd: 20, period: day } ]
      keys:
        - { name: triage-app, key_env: KEY_APP }
        - { name: agent-bot, key_env: KEY_AGENT, agent: { max_steps: 2 } }
    - name: legal
      budgets: [ { usd: 5, period: day } ]
systems:
  - name: claims-triage
    department: claims
    review: { required_for: [reject], window: 48h }
`;

let gateway: TestGateway;
let context: BrowserContext;
let page: Page;
let profile: string;

const client = (key: string, headers: Record<string, string> = {}) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: headers });
const ask = (key: string, headers: Record<string, string> = {}) => client(key, headers).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'How do I file a claim?' }] });

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: init.method ?? 'GET', headers: { authorization: `Bearer ${environment.ADMIN_KEY}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: response.status, body: await response.json() as any };
}

async function signIn(key: string) {
  await context.clearCookies();
  await page.goto(`${gateway.url}/`);
  await page.getByLabel('Admin key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function open(id: string, heading: string) {
  await page.goto(`${gateway.url}/ui/#/${id}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** axe-core in the page: the violations a user would be hurt by (serious or critical). */
async function seriousViolations(): Promise<string[]> {
  await page.addScriptTag({ content: axe.source });
  const results = await page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document));
  expect(results.passes.length).toBeGreaterThan(10);
  return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ')})`);
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  gateway = await startTestGateway(configText, environment);
  profile = mkdtempSync(join(tmpdir(), 'covenant-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, bypassCSP: true, acceptDownloads: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(10_000);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await gateway?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('the console in chromium', () => {
  it('signs in with the admin key (kept in no page storage) and shows the spend a burst of traffic produced', async () => {
    for (let index = 0; index < 12; index += 1) await ask(environment.KEY_APP);
    const spend = await admin('/admin/spend');
    const organisation = spend.body.scopes.find((scope: { scope: string }) => scope.scope === 'org').budgets[0];
    expect(Number(organisation.spent)).toBeGreaterThan(0);
    await signIn(environment.ADMIN_KEY);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(await page.getByTestId('org-spent-month').textContent()).toBe(`$${organisation.spent}`);
    const department = spend.body.scopes.find((scope: { scope: string }) => scope.scope === 'department:claims').budgets[0];
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'department:claims' }).first().textContent()).toContain(`$${Number(department.spent).toFixed(2)}`);
    expect(await page.getByTestId('request-rate').textContent()).toBe('12');
    // The key went into the sign-in request only: not into storage, and the session cookie is out of the page's reach.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored).not.toContain(environment.ADMIN_KEY);
    expect(stored).not.toContain('covenant_session');
    const cookie = (await context.cookies()).find((entry) => entry.name === 'covenant_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('creates a key whose secret is shown once, then revokes it and its next request fails', async () => {
    await open('keys', 'Budgets and keys');
    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Department').fill('claims');
    await form.getByLabel('Name', { exact: true }).fill('temp-bot');
    await form.getByLabel('Budget (USD, optional)').fill('2');
    await form.getByLabel('Requests per minute (optional)').fill('30');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-secret').textContent()) ?? '';
    expect(secret).toMatch(/^sk-/);
    expect((await ask(secret)).choices[0]?.message.content).toBeTruthy();
    const created = (await admin('/admin/keys')).body.data.find((key: { name: string }) => key.name === 'temp-bot');
    expect(created).toMatchObject({ budgets: [{ usd: 2, period: 'month' }], rate_limit: { rpm: 30 } });
    await page.getByRole('row').filter({ hasText: 'temp-bot' }).getByText('rate 30 rpm').waitFor();
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => page.getByTestId('new-secret').count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke temp-bot', exact: true }).click();
    await page.getByRole('button', { name: 'Revoke temp-bot now' }).click();
    await page.getByRole('row').filter({ hasText: 'temp-bot' }).getByText(/^revoked /).waitFor();
    await expect(ask(secret)).rejects.toMatchObject({ status: 401 });
  });

  it("edits a key's budget down with the keyboard, and its next request is refused with 402", async () => {
    const created = await admin('/admin/keys', { method: 'POST', body: { department: 'claims', name: 'edit-bot', budgets: [{ usd: 1, period: 'day' }] } });
    expect((await ask(created.body.key)).choices).toHaveLength(1);
    // Through another page, so the keys page loads the key made above.
    await open('overview', 'Overview');
    await open('keys', 'Budgets and keys');
    // Config keys are edited in the config file: no Edit button for them.
    await page.getByRole('row').filter({ hasText: 'triage-app' }).getByText('edit in the config file').waitFor();
    expect(await page.getByRole('button', { name: 'Edit triage-app' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Edit edit-bot' }).focus();
    await page.keyboard.press('Enter');
    const form = page.getByRole('form', { name: 'Edit edit-bot' });
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value)).toBe('1');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('0.000001');
    await page.screenshot({ path: join(shots, 'keys-edit.png'), fullPage: true });
    expect(await seriousViolations()).toEqual([]);
    await page.keyboard.press('Enter');
    await page.getByRole('row').filter({ hasText: 'edit-bot' }).getByText('$0.000001/day').waitFor();
    await page.getByText('Saved edit-bot').waitFor();
    expect(await form.count()).toBe(0);
    expect((await admin('/admin/keys')).body.data.find((key: { name: string }) => key.name === 'edit-bot').budgets).toEqual([{ usd: 0.000001, period: 'day' }]);
    await expect(ask(created.body.key)).rejects.toMatchObject({ status: 402, code: 'budget_exceeded' });
  });

  it('says a key was changed by someone else since its Edit form opened, that the change was not saved, and shows the current values', async () => {
    const created = await admin('/admin/keys', { method: 'POST', body: { department: 'claims', name: 'contested-bot', budgets: [{ usd: 1, period: 'day' }] } });
    const stored = async () => (await admin(`/admin/keys/${created.body.id}`)).body.budgets;
    await open('overview', 'Overview');
    await open('keys', 'Budgets and keys');
    await page.getByRole('button', { name: 'Edit contested-bot' }).click();
    const form = page.getByRole('form', { name: 'Edit contested-bot' });
    // Another admin raises the budget while this form is open.
    expect((await admin(`/admin/keys/${created.body.id}`, { method: 'PATCH', body: { budgets: [{ usd: 7, period: 'day' }] } })).status).toBe(200);
    await form.getByLabel('Budget 1 amount').fill('0.25');
    await form.getByRole('button', { name: 'Save contested-bot' }).click();
    const alert = form.getByRole('alert');
    await alert.getByText(/contested-bot was changed by someone else since you opened it/).waitFor();
    expect(await alert.textContent()).toContain('Your change was not saved (you had entered: budget 0.25 USD/day).');
    expect(await stored()).toEqual([{ usd: 7, period: 'day' }]);
    // The form and the list show the key as it is now.
    await expect.poll(() => form.getByLabel('Budget 1 amount').inputValue()).toBe('7');
    await page.getByRole('row').filter({ hasText: 'contested-bot' }).getByText('$7/day').waitFor();
    await page.screenshot({ path: join(shots, 'keys-edit-conflict.png'), fullPage: true });
    expect(await seriousViolations()).toEqual([]);
    // Made again over the current values, the edit is saved.
    await form.getByLabel('Budget 1 amount').fill('0.25');
    await form.getByRole('button', { name: 'Save contested-bot' }).click();
    await page.getByText('Saved contested-bot').waitFor();
    expect(await stored()).toEqual([{ usd: 0.25, period: 'day' }]);
  });

  it('does not revoke a key changed by someone else since the list was loaded, says so, and revokes it on a second try', async () => {
    const created = await admin('/admin/keys', { method: 'POST', body: { department: 'claims', name: 'moving-bot', budgets: [{ usd: 1, period: 'day' }] } });
    await open('overview', 'Overview');
    await open('keys', 'Budgets and keys');
    await page.getByRole('row').filter({ hasText: 'moving-bot' }).getByText('$1/day').waitFor();
    // Another admin changes the key while this list is on screen.
    expect((await admin(`/admin/keys/${created.body.id}`, { method: 'PATCH', body: { budgets: [{ usd: 3, period: 'day' }] } })).status).toBe(200);
    await page.getByRole('button', { name: 'Revoke moving-bot', exact: true }).click();
    await page.getByRole('button', { name: 'Revoke moving-bot now' }).click();
    await page.getByText(/moving-bot was changed by someone else since this list was loaded, so it was not revoked/).waitFor();
    expect((await ask(created.body.key)).choices).toHaveLength(1);
    await page.getByRole('row').filter({ hasText: 'moving-bot' }).getByText('$3/day').waitFor();
    expect(await seriousViolations()).toEqual([]);
    await page.getByRole('button', { name: 'Revoke moving-bot now' }).click();
    await page.getByRole('row').filter({ hasText: 'moving-bot' }).getByText(/^revoked /).waitFor();
    await expect(ask(created.body.key)).rejects.toMatchObject({ status: 401 });
  });

  it('resumes a suspended agent session with a reason', async () => {
    const session = { 'x-covenant-session': 'loop-7' };
    await ask(environment.KEY_AGENT, session);
    await ask(environment.KEY_AGENT, session);
    await expect(ask(environment.KEY_AGENT, session)).rejects.toMatchObject({ status: 403 });
    await open('sessions', 'Agent sessions');
    await page.getByRole('button', { name: 'Resume loop-7' }).click();
    await page.getByLabel('Reason').fill('Looked at the transcript: a real multi-step task.');
    await page.getByRole('button', { name: 'Resume session' }).click();
    await page.getByText('No suspended sessions.').waitFor();
    const all = await admin('/admin/sessions?all=1');
    expect(all.body.data[0]).toMatchObject({ label: 'loop-7', status: 'resumed', resumed_by: 'ops', reason: 'Looked at the transcript: a real multi-step task.' });
    expect((await ask(environment.KEY_AGENT, session)).choices.length).toBe(1);
  });

  it('stages, promotes and rolls back a model version, each after a confirmation', async () => {
    await open('models', 'Models');
    await page.getByLabel('Version to stage').fill('mock-2');
    await page.getByRole('button', { name: 'Stage', exact: true }).click();
    await page.getByRole('button', { name: 'Stage mock-2' }).click();
    await page.getByRole('button', { name: 'Promote mock-2' }).click();
    await page.getByLabel('Reason (optional)').fill('cheaper, passed the golden set');
    await page.getByRole('button', { name: 'Promote mock-2 to active' }).click();
    await expect.poll(() => page.getByTestId('active-version').textContent()).toBe('mock-2');
    expect((await admin('/admin/models/fast')).body.active).toBe('mock-2');
    expect((await ask(environment.KEY_APP)).model).toContain('mock-2');
    await page.getByRole('button', { name: 'Roll back to mock-1' }).click();
    await page.getByRole('button', { name: 'Roll back to mock-1' }).last().click();
    await expect.poll(() => page.getByTestId('active-version').textContent()).toBe('mock-1');
    expect((await admin('/admin/models/fast')).body.active).toBe('mock-1');
    const history = await admin('/admin/models/fast/history');
    expect(history.body.data.map((move: { action: string }) => move.action)).toEqual(['seeded', 'staged', 'promoted', 'rolled_back']);
  });

  it('decides a pending review with a rationale', async () => {
    const created = await fetch(`${gateway.url}/v1/decisions`, {
      method: 'POST', headers: { authorization: `Bearer ${environment.KEY_APP}`, 'content-type': 'application/json' },
      body: JSON.stringify({ system: 'claims-triage', subject_ref: 'claim-991', recommendation: 'reject', model_version: 'triage-2.1' }),
    });
    const decision = await created.json() as { id: string; status: string };
    expect(decision.status).toBe('pending_review');
    await open('reviews', 'Reviews');
    const form = page.getByRole('form', { name: `Decide ${decision.id}` });
    await form.getByLabel('Outcome').fill('approve');
    await form.getByLabel('Rationale').fill('The policy was active on the date of loss.');
    await form.getByRole('button', { name: 'Decide' }).click();
    await page.getByText('The queue is empty.').waitFor();
    const reviewed = await admin(`/admin/reviews/${decision.id}`);
    expect(reviewed.body).toMatchObject({ status: 'final', final_outcome: 'approve' });
    await page.getByRole('table', { name: 'All reviews' }).getByRole('cell', { name: '100.0%' }).first().waitFor();
    await page.getByRole('button', { name: 'Performance of claims-triage' }).click();
    await page.getByRole('table', { name: /claims-triage: performance per model version/ }).or(page.getByText('No labelled outcomes yet.')).first().waitFor();
  });

  it('verifies a ledger entry\'s inclusion proof in the browser', async () => {
    await open('ledger', 'Ledger');
    await page.getByRole('button', { name: 'Verify 3', exact: true }).click();
    await expect.poll(() => page.getByTestId('verify-3').textContent()).toMatch(/^✓ verified: Entry 3 is in the tree of size \d+/);
    // The checkpoint the proof leads to carries the ledger key's Ed25519 signature, checked in the page with Web Crypto.
    const publicKey = (await admin('/admin/audit/head')).body.public_key as string;
    expect(await page.getByTestId('verifier-key').textContent()).toBe(publicKey);
    await expect.poll(() => page.getByTestId('signature-3').textContent()).toBe(
      `✓ signature verified: The checkpoint of size ${(await page.getByTestId('verify-3').textContent())!.match(/tree of size (\d+)/)![1]} is signed by ${publicKey.split('+').slice(0, 2).join('+')} (Ed25519, checked in this browser).`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download evidence bundle' }).click()]);
    const bundle = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(bundle.format).toBe('covenant.ledger-bundle/v1');
    expect(download.suggestedFilename()).toMatch(/^covenant-ledger-bundle-.*\.json$/);
  });

  it('shows the sourcing inventory, a build-or-buy decision, a vendor\'s failed pre-qualification and a contract check', async () => {
    expect((await admin('/admin/inventory/vendors/acme-ai', { method: 'PUT', body: { layer: 'specialised_ai_vendor', services: ['claims scoring'] } })).status).toBe(200);
    expect((await admin('/admin/inventory/systems/claims-triage', { method: 'PUT', body: { owner: 'Head of Claims', department: 'claims', risk_tier: 'high' } })).status).toBe(200);
    expect((await admin('/admin/inventory/systems/claims-triage/decisions', { method: 'POST', body: { differentiator: 'yes', data_moat: 'no', speed_priority: 'yes' } })).status).toBe(200);
    expect((await admin('/admin/inventory/vendors/acme-ai/qualifications', { method: 'POST', body: { answers: { no_training: { answer: 'no' } } } })).status).toBe(200);
    expect((await admin('/admin/contract-checks', { method: 'POST', body: {
      file: 'msa.md', sha256: 'c'.repeat(64), format: 'md', passed: false, missing: ['spend_caps'], weaker: [], result: null, department: 'claims', contract_id: 'MSA-7', blueprint: 'B',
    } })).status).toBe(201);
    await open('sourcing', 'Sourcing');
    await page.getByRole('button', { name: 'claims-triage' }).click();
    await page.getByRole('table', { name: /decisions for claims-triage/ }).getByRole('cell', { name: 'PARTNER', exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'vendors', exact: true }).click();
    await page.getByRole('button', { name: 'acme-ai' }).click();
    await page.getByRole('table', { name: 'Qualifications of acme-ai' }).getByText('failed').waitFor();
    expect(await page.getByRole('table', { name: 'Contract checks' }).getByText('MSA-7 (msa.md)').count()).toBe(1);
  });

  it('passes axe-core on every page with no serious or critical violation, and screenshots each', async () => {
    const pages = [['overview', 'Overview'], ['keys', 'Budgets and keys'], ['alerts', 'Alerts'], ['sessions', 'Agent sessions'], ['models', 'Models'],
      ['reviews', 'Reviews'], ['sourcing', 'Sourcing'], ['ledger', 'Ledger']] as const;
    const found: string[] = [];
    for (const [id, heading] of pages) {
      await open(id, heading);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(shots, `${id}.png`), fullPage: true });
      found.push(...(await seriousViolations()).map((violation) => `${id}: ${violation}`));
    }
    await context.clearCookies();
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('Admin key').waitFor();
    await page.screenshot({ path: join(shots, 'sign-in.png') });
    found.push(...(await seriousViolations()).map((violation) => `sign-in: ${violation}`));
    expect(found).toEqual([]);
  });

  it('hides what a role cannot do: an auditor reads only, a department admin sees its department, a department reviewer only its reviews', async () => {
    await signIn(environment.AUDITOR);
    await open('keys', 'Budgets and keys');
    await page.getByRole('table', { name: 'Virtual keys' }).waitFor();
    expect(await page.getByRole('form', { name: 'Create a key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Revoke / }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    await open('models', 'Models');
    expect(await page.getByLabel('Version to stage').count()).toBe(0);
    await signIn(environment.LEGAL_ADMIN);
    await page.getByTestId('department-spent-day').waitFor();
    expect(await page.getByTestId('org-spent-month').count()).toBe(0);
    await open('keys', 'Budgets and keys');
    await page.getByRole('table', { name: 'Every budget' }).waitFor();
    expect(await page.getByRole('table', { name: 'Every budget' }).getByRole('cell', { name: 'department:legal', exact: true }).count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Every budget' }).getByText('department:claims').count()).toBe(0);
    expect(await page.getByText('There are no virtual keys.').or(page.getByText('No virtual keys.')).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Reload config' }).count()).toBe(0);
    await signIn(environment.REVIEWER);
    const links = await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents();
    expect(links).toEqual(['Reviews']);
    await page.getByRole('heading', { level: 1, name: 'Reviews' }).waitFor();
  });

  it('works with the keyboard alone: tab to the key, sign in, tab to a page link and open it', async () => {
    await context.clearCookies();
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('Admin key').waitFor();
    const focused = () => page.evaluate(() => `${document.activeElement?.tagName}:${document.activeElement?.id || document.activeElement?.textContent}`);
    for (let presses = 0; presses < 10 && (await focused()) !== 'INPUT:admin-key'; presses += 1) await page.keyboard.press('Tab');
    expect(await focused()).toBe('INPUT:admin-key');
    await page.keyboard.type(environment.ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    for (let presses = 0; presses < 20 && (await focused()) !== 'A:Alerts'; presses += 1) await page.keyboard.press('Tab');
    expect(await focused()).toBe('A:Alerts');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Admin key').waitFor();
  });

  it('runs a bias audit of a system from the Reviews page with the keyboard and shows each group\'s selection rate and the verdict', async () => {
    // 30 men, 24 approved (0.8); 30 women, 12 approved (0.4): impact ratio 0.5, under the four-fifths rule.
    for (const [sex, approved] of [['male', 24], ['female', 12]] as const) {
      for (let index = 0; index < 30; index += 1) {
        const created = await fetch(`${gateway.url}/v1/decisions`, {
          method: 'POST', headers: { authorization: `Bearer ${environment.KEY_APP}`, 'content-type': 'application/json' },
          body: JSON.stringify({ system: 'claims-triage', subject_ref: `bias-${sex}-${index}`, recommendation: index < approved ? 'approve' : 'reject', model_version: 'triage-2.1', protected: { sex } }),
        });
        expect(created.status).toBe(201);
      }
    }
    await signIn(environment.AUDITOR);
    await open('reviews', 'Reviews');
    await page.getByRole('button', { name: 'Bias audit of claims-triage' }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Protected attribute').focus();
    await page.keyboard.type('sex');
    await page.keyboard.press('Enter');
    const panel = page.getByRole('region', { name: 'Bias audit of claims-triage' });
    await panel.getByText(/By sex: FAIL — lowest impact ratio 0\.500 \(female vs male\); minimum 0\.80\./).waitFor();
    const table = panel.getByRole('table', { name: 'Bias audit by sex' });
    expect(await table.getByRole('row').allTextContents()).toEqual(expect.arrayContaining([
      expect.stringMatching(/^male30\s*0\.800 \[0\.627, 0\.905\].*1\.000$/), expect.stringMatching(/^female30\s*0\.400 \[0\.246, 0\.577\].*0\.500$/),
    ]));
    expect(await panel.getByRole('img', { name: /^Selection rate by sex: / }).count()).toBe(1);
    await page.screenshot({ path: join(shots, 'reviews-bias-audit.png'), fullPage: true });
    expect(await seriousViolations()).toEqual([]);
    // A department reviewer reads no protected attributes, so sees no bias audit.
    await signIn(environment.REVIEWER);
    await page.getByRole('heading', { level: 1, name: 'Reviews' }).waitFor();
    expect(await page.getByRole('button', { name: /^Bias audit of / }).count()).toBe(0);
  });
});
