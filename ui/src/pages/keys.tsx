// Budgets and keys: every budget's spend, the virtual keys, create a key (its secret shown once), edit its budgets and limits, revoke, reload budgets.
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ConfirmAction, Loading, Note, Section, Table } from '../components';
import { text, time } from '../format';
import { useApi } from '../hooks';
import type { PageProps } from './index';
import { EditKey } from './key-edit';
import { BudgetTable, type SpendScope } from './overview';

interface KeyRow {
  id: string; department: string; name: string; models: string[] | null; budgets: { usd?: number; tokens?: number; period: string }[];
  rate_limit?: { rpm?: number; tpm?: number; concurrent?: number }; limits?: { max_prompt_tokens?: number; max_request_usd?: number };
  agent?: Record<string, unknown>; environment?: string;
  source: string; created_at: string; revoked_at: string | null; revision: number;
}

function CreateKey({ session, onCreated }: { session: PageProps['session']; onCreated: () => void }) {
  const [department, setDepartment] = useState(session.department ?? '');
  const [name, setName] = useState('');
  const [models, setModels] = useState('');
  const [budget, setBudget] = useState('');
  const [period, setPeriod] = useState('month');
  const [rpm, setRpm] = useState('');
  const [secret, setSecret] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const body: Record<string, unknown> = { department, name };
      const aliases = models.split(',').map((value) => value.trim()).filter(Boolean);
      if (aliases.length > 0) body.models = aliases;
      if (budget.trim() !== '') body.budgets = [{ usd: Number(budget), period }];
      if (rpm.trim() !== '') body.rate_limit = { rpm: Number(rpm) };
      const created = await api<{ key: string }>('/admin/keys', { method: 'POST', body });
      setSecret(created.key);
      setName('');
      onCreated();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const input = (setter: (value: string) => void) => (event: Event) => setter((event.target as HTMLInputElement).value);
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create a key">
      <label>Department<input value={department} required readOnly={session.department !== null} onInput={input(setDepartment)} /></label>
      <label>Name<input value={name} required onInput={input(setName)} /></label>
      <label>Models (comma-separated, empty for all)<input value={models} onInput={input(setModels)} /></label>
      <label>Budget (USD, optional)<input value={budget} inputMode="decimal" onInput={input(setBudget)} /></label>
      <label>Period
        <select value={period} onChange={input(setPeriod)}>
          {['hour', 'day', 'week', 'month'].map((value) => <option value={value}>{value}</option>)}
        </select>
      </label>
      <label>Requests per minute (optional)<input value={rpm} inputMode="numeric" onInput={input(setRpm)} /></label>
      <button type="submit" class="primary">Create key</button>
      <Note error={error} />
      {secret && (
        <div class="secret" role="status">
          <p><strong>The new key's secret, shown once.</strong> Copy it now; the gateway keeps only its hash.</p>
          <code data-testid="new-secret">{secret}</code>
          <button type="button" onClick={() => setSecret(undefined)}>I have copied it</button>
        </div>
      )}
    </form>
  );
}

export function KeysPage({ session, can }: PageProps) {
  const spend = useApi<{ scopes: SpendScope[] }>('/admin/spend');
  const keys = useApi<{ data: KeyRow[] }>('/admin/keys');
  const [reloaded, setReloaded] = useState<string | undefined>();
  const [editing, setEditing] = useState<KeyRow | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  const refresh = () => { keys.reload(); spend.reload(); };
  /** Revoke the key as this list shows it: changed by someone else since, it is left as it is and the list reloads. */
  const revoke = async (row: KeyRow) => {
    try {
      await api(`/admin/keys/${encodeURIComponent(row.id)}`, { method: 'DELETE', headers: { 'if-match': `"${row.revision}"` } });
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 412)) throw failure;
      refresh();
      throw new Error(`${row.name} was changed by someone else since this list was loaded, so it was not revoked. The list now shows it as it is; revoke it again if you still mean to.`);
    }
    refresh();
  };
  return (
    <>
      <Section title="Budgets">
        <Note error={spend.error} />
        {spend.data ? <BudgetTable caption="Every budget" scopes={spend.data.scopes} /> : <Loading />}
        <p class="muted">Organisation, department and config-key budgets live in the config file: edit it, then reload it here (or send SIGHUP). A key made here has its budgets and limits changed with its Edit button, from its next request.</p>
        {can('organisation-write') && (
          <ConfirmAction label="Reload config" confirmLabel="Reload now" needsReason={false} onConfirm={async () => {
            const result = await api<Record<string, unknown>>('/admin/reload', { method: 'POST' });
            setReloaded(`Reloaded: config ${text(result.config_version)}`);
            refresh();
          }} />
        )}
        {reloaded && <p role="status">{reloaded}</p>}
      </Section>
      {can('write') && <Section title="Create a key"><CreateKey session={session} onCreated={refresh} /></Section>}
      <Section title="Keys">
        <Note error={keys.error} />
        {!keys.data ? <Loading /> : (
          <Table caption="Virtual keys" rows={keys.data.data} columns={[
            { label: 'Department', cell: (row) => row.department },
            { label: 'Name', cell: (row) => row.name },
            { label: 'Models', cell: (row) => (row.models ? row.models.join(', ') : 'all') },
            { label: 'Budgets', cell: (row) => row.budgets.map((budget) => `${budget.usd !== undefined ? `$${budget.usd}` : `${budget.tokens} tokens`}/${budget.period}`).join(', ') || '—' },
            { label: 'Guards', cell: (row) => [
              row.rate_limit ? `rate ${Object.entries(row.rate_limit).map(([unit, value]) => `${value} ${unit}`).join(', ')}` : '',
              row.limits ? `per request ${Object.entries(row.limits).map(([name, value]) => `${name} ${value}`).join(', ')}` : '',
              row.agent ? `agent ${Object.entries(row.agent).map(([name, value]) => `${name} ${value}`).join(', ')}` : '',
              row.environment ? `environment ${row.environment}` : '',
            ].filter(Boolean).join('; ') || '—' },
            { label: 'Source', cell: (row) => row.source },
            { label: 'Created', cell: (row) => time(row.created_at) },
            { label: 'Status', cell: (row) => (row.revoked_at ? `revoked ${time(row.revoked_at)}` : 'active') },
            { label: 'Action', cell: (row) => (can('write') && !row.revoked_at
              ? <>
                  {row.source === 'api'
                    ? <button type="button" aria-label={`Edit ${row.name}`} onClick={() => { setSaved(undefined); setEditing(row); }}>Edit</button>
                    : <span class="muted">edit in the config file</span>}{' '}
                  <ConfirmAction label={`Revoke ${row.name}`} confirmLabel={`Revoke ${row.name} now`} danger needsReason={false}
                    onConfirm={() => revoke(row)} />
                </>
              : null) },
          ]} />
        )}
        {saved && <p role="status">{saved}</p>}
      </Section>
      {editing && can('write') && (
        <Section title={`Edit ${editing.name}`}>
          <EditKey key={editing.id} keyRow={editing} onChanged={refresh} onDone={(done) => {
            if (done) setSaved(`Saved ${editing.name}: its next request uses the new budgets and limits.`);
            setEditing(undefined);
            refresh();
          }} />
        </Section>
      )}
    </>
  );
}
