// Models: each alias's versions and pins, silent changes, live drift and drift runs; stage, promote, roll back with confirmation.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ConfirmAction, LineChart, Loading, Note, Table } from '../components';
import { text, time } from '../format';
import { useApi } from '../hooks';
import type { PageProps } from './index';

interface Version { version: string; provider: string; status: string; status_since: string | null; calls: number; first_seen: string | null; last_seen: string | null }
interface Alias {
  alias: string; active: string; candidate: string | null; rollback_to: string | null; blocked: { since: string; [field: string]: unknown } | null;
  on_silent_change: string; on_drift: string; warnings: string[]; versions: Version[];
}
interface Move { id: string; action: string; from_version: string | null; to_version: string | null; by: string; at: string; detail?: Record<string, unknown> }
interface DriftRun { seq: number; time: string; [field: string]: unknown }

function AliasDetail({ alias, can, onChanged }: { alias: Alias; can: PageProps['can']; onChanged: () => void }) {
  const history = useApi<{ data: Move[] }>(`/admin/models/${encodeURIComponent(alias.alias)}/history`);
  const drift = useApi<Record<string, unknown>>(`/admin/models/${encodeURIComponent(alias.alias)}/drift`);
  const runs = useApi<{ data: DriftRun[] }>(`/admin/audit/entries?kind=drift.run&limit=200`);
  const [version, setVersion] = useState('');
  const move = (action: string) => async (reason: string) => {
    await api(`/admin/models/${encodeURIComponent(alias.alias)}/${action}`, { method: 'POST', body: reason ? { reason } : {} });
    onChanged();
    history.reload();
  };
  const aliasRuns = (runs.data?.data ?? []).filter((run) => run.alias === alias.alias);
  const scores: [number, number][] = aliasRuns.map((run) => [Date.parse(run.time), Number((run.checks as { failed?: number } | undefined)?.failed ?? 0)]);
  return (
    <section aria-label={`Alias ${alias.alias}`} class="detail">
      <h2>{alias.alias}</h2>
      <p>Active <strong data-testid="active-version">{alias.active}</strong>
        {alias.candidate ? <> · candidate <strong>{alias.candidate}</strong></> : null}
        {alias.rollback_to ? <> · rolls back to {alias.rollback_to}</> : null}
        {alias.blocked ? <> · <span class="error">blocked since {time(alias.blocked.since)} (silent change)</span></> : null}
      </p>
      {alias.warnings.length > 0 && <ul class="warnings">{alias.warnings.map((warning) => <li>{warning}</li>)}</ul>}
      <Table caption="Versions" rows={alias.versions} columns={[
        { label: 'Version', cell: (row) => row.version },
        { label: 'Provider', cell: (row) => row.provider },
        { label: 'Status', cell: (row) => row.status },
        { label: 'Since', cell: (row) => time(row.status_since) },
        { label: 'Calls', numeric: true, cell: (row) => row.calls },
        { label: 'Last seen', cell: (row) => time(row.last_seen) },
      ]} />
      {can('organisation-write') && (
        <div class="actions">
          <form class="inline-form" aria-label="Stage a version" onSubmit={(event) => event.preventDefault()}>
            <label>Version to stage<input value={version} onInput={(event) => setVersion((event.target as HTMLInputElement).value)} /></label>
            <ConfirmAction label="Stage" confirmLabel={`Stage ${version || 'version'}`} onConfirm={async (reason) => {
              await api(`/admin/models/${encodeURIComponent(alias.alias)}/stage`, { method: 'POST', body: { version, ...(reason ? { reason } : {}) } });
              setVersion('');
              onChanged();
              history.reload();
            }} />
          </form>
          {alias.candidate && <ConfirmAction label={`Promote ${alias.candidate}`} confirmLabel={`Promote ${alias.candidate} to active`} onConfirm={move('promote')} />}
          {alias.rollback_to && <ConfirmAction label={`Roll back to ${alias.rollback_to}`} confirmLabel={`Roll back to ${alias.rollback_to}`} danger onConfirm={move('rollback')} />}
          {alias.blocked && <ConfirmAction label="Acknowledge silent change" confirmLabel="Acknowledge and unblock" needsReason onConfirm={move('ack')} />}
        </div>
      )}
      <h3>History</h3>
      <Note error={history.error} />
      <Table caption="Moves, oldest first" rows={history.data?.data ?? []} empty="No moves yet." columns={[
        { label: 'When', cell: (row) => time(row.at) },
        { label: 'Action', cell: (row) => row.action },
        { label: 'From', cell: (row) => text(row.from_version) },
        { label: 'To', cell: (row) => text(row.to_version) },
        { label: 'By', cell: (row) => row.by },
        { label: 'Detail', cell: (row) => text(row.detail?.reason ?? row.detail) },
      ]} />
      <h3>Drift</h3>
      <Note error={drift.error} />
      {drift.data && <pre class="json" tabIndex={0} aria-label="Live drift report">{JSON.stringify(drift.data, null, 2)}</pre>}
      <LineChart label={`Failed golden checks per drift run of ${alias.alias}`} points={scores} />
    </section>
  );
}

export function ModelsPage({ can }: PageProps) {
  const models = useApi<{ data: Alias[] }>('/admin/models');
  const [selected, setSelected] = useState<string | undefined>();
  if (models.error) return <Note error={models.error} />;
  if (!models.data) return <Loading />;
  const aliases = models.data.data;
  const current = aliases.find((alias) => alias.alias === selected) ?? aliases[0];
  return (
    <>
      <Table caption="Model aliases" rows={aliases} empty="No model aliases in the registry." columns={[
        { label: 'Alias', cell: (row) => <button type="button" class="link" aria-pressed={row.alias === current?.alias} onClick={() => setSelected(row.alias)}>{row.alias}</button> },
        { label: 'Active', cell: (row) => row.active },
        { label: 'Candidate', cell: (row) => text(row.candidate) },
        { label: 'Silent change', cell: (row) => (row.blocked ? 'blocked' : row.on_silent_change) },
        { label: 'On drift', cell: (row) => row.on_drift },
        { label: 'Versions', numeric: true, cell: (row) => row.versions.length },
      ]} />
      {current && <AliasDetail key={current.alias} alias={current} can={can} onChanged={models.reload} />}
    </>
  );
}
