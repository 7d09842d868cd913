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
interface DriftCheck { name: string; observed: number; threshold: number; pass: boolean }
interface DriftRun { seq: number; time: string; alias: string; verdict: string; versions_seen: string[]; checks: DriftCheck[]; by: string }
interface LiveVersion {
  version: string; baseline: { latency_ms: number | null; output_tokens: number | null; samples: number };
  current: { latency_ms: number | null; output_tokens: number | null; samples: number };
  variance: { latency: number; output_tokens: number }; breach_since: string | null; material_drift: boolean;
}
interface LiveDrift { alias: string; max_variance: number; window_ms: number; versions: LiveVersion[] }

const round = (value: number | null) => (value === null ? '—' : String(Math.round(value * 100) / 100));

function AliasDetail({ alias, can, onChanged }: { alias: Alias; can: PageProps['can']; onChanged: () => void }) {
  const history = useApi<{ data: Move[] }>(`/admin/models/${encodeURIComponent(alias.alias)}/history`);
  const drift = useApi<LiveDrift>(`/admin/models/${encodeURIComponent(alias.alias)}/drift`);
  const runs = useApi<{ data: DriftRun[] }>(`/admin/audit/entries?kind=drift.run&limit=200`);
  const [version, setVersion] = useState('');
  const move = (action: string) => async (reason: string) => {
    await api(`/admin/models/${encodeURIComponent(alias.alias)}/${action}`, { method: 'POST', body: reason ? { reason } : {} });
    onChanged();
    history.reload();
  };
  const aliasRuns = (runs.data?.data ?? []).filter((run) => run.alias === alias.alias);
  const checkName = aliasRuns[0]?.checks[0]?.name;
  const scores: [number, number][] = aliasRuns.flatMap((run) => run.checks.filter((check) => check.name === checkName).map((check) => [Date.parse(run.time), check.observed] as [number, number]));
  const threshold = aliasRuns[0]?.checks[0]?.threshold;
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
      {drift.data && (
        <Table caption={`Live drift (variance limit ${drift.data.max_variance}, window ${Math.round(drift.data.window_ms / 3_600_000)} h)`} rows={drift.data.versions} columns={[
          { label: 'Version', cell: (row) => row.version },
          { label: 'Baseline latency ms', numeric: true, cell: (row) => round(row.baseline.latency_ms) },
          { label: 'Current latency ms', numeric: true, cell: (row) => round(row.current.latency_ms) },
          { label: 'Baseline output tokens', numeric: true, cell: (row) => round(row.baseline.output_tokens) },
          { label: 'Current output tokens', numeric: true, cell: (row) => round(row.current.output_tokens) },
          { label: 'Samples', numeric: true, cell: (row) => `${row.baseline.samples} / ${row.current.samples}` },
          { label: 'Variance', numeric: true, cell: (row) => `${round(row.variance.latency)} / ${round(row.variance.output_tokens)}` },
          { label: 'Material drift', cell: (row) => (row.material_drift ? <strong class="error">yes, since {time(row.breach_since)}</strong> : 'no') },
        ]} />
      )}
      <Table caption="Golden-set drift runs" rows={aliasRuns} empty="No drift runs recorded (covenant drift run records them)." columns={[
        { label: 'Entry', numeric: true, cell: (row) => row.seq },
        { label: 'When', cell: (row) => time(row.time) },
        { label: 'Verdict', cell: (row) => (row.verdict === 'pass' ? 'pass' : <strong class="error">{row.verdict}</strong>) },
        { label: 'Versions seen', cell: (row) => row.versions_seen.join(', ') },
        { label: 'Checks', cell: (row) => row.checks.map((check) => `${check.name} ${round(check.observed)} ${check.pass ? '≤' : '>'} ${check.threshold}`).join('; ') },
        { label: 'By', cell: (row) => row.by },
      ]} />
      {checkName && <LineChart label={`${checkName} per drift run of ${alias.alias}, against its threshold`} points={scores} limit={threshold} />}
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
