// Reviews: the human review queue (decide with a rationale), override statistics, and AI systems with their bias monitors and audits.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ConfirmAction, Loading, Note, Section, Table } from '../components';
import { text, time } from '../format';
import { useApi } from '../hooks';
import { BiasAuditPanel } from './bias-audit';
import type { PageProps } from './index';

interface Decision {
  id: string; system: string; department: string; subject_ref: string; recommendation: string; score: number | null; model_version: string;
  status: string; final_outcome: string | null; created_at: string;
  review: { reason: string; due_at: string | null; overdue: boolean; reviewer: string | null; rationale: string | null; overridden: boolean } | null;
}
interface ReviewTotals { reviews: number; overrides: number; overrideRate: number | null; agreementRate: number | null; medianSeconds: number | null; p90Seconds: number | null }
interface Stats { overall: ReviewTotals; byReviewer: (ReviewTotals & { reviewer: string })[]; bySystem: (ReviewTotals & { system: string })[]; warnings: string[] }

const percent = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(1)}%`);
const totalsColumns = [
  { label: 'Reviews', numeric: true, cell: (row: ReviewTotals) => row.reviews },
  { label: 'Overrides', numeric: true, cell: (row: ReviewTotals) => row.overrides },
  { label: 'Override rate', numeric: true, cell: (row: ReviewTotals) => percent(row.overrideRate) },
  { label: 'Agreement', numeric: true, cell: (row: ReviewTotals) => percent(row.agreementRate) },
  { label: 'Median seconds', numeric: true, cell: (row: ReviewTotals) => text(row.medianSeconds === null ? null : Math.round(row.medianSeconds)) },
];

function Decide({ decision, onDecided }: { decision: Decision; onDecided: () => void }) {
  const [outcome, setOutcome] = useState(String(decision.recommendation ?? ''));
  const [rationale, setRationale] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api(`/admin/reviews/${encodeURIComponent(decision.id)}`, { method: 'POST', body: { outcome, rationale } });
      onDecided();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label={`Decide ${decision.id}`}>
      <label>Outcome<input value={outcome} required onInput={(event) => setOutcome((event.target as HTMLInputElement).value)} /></label>
      <label>Rationale<input value={rationale} required onInput={(event) => setRationale((event.target as HTMLInputElement).value)} /></label>
      <button type="submit" class="primary">Decide</button>
      <Note error={error} />
    </form>
  );
}

interface Performance {
  system: string; window: string;
  versions: { model_version: string; labelled: number; precision: number | null; recall: number | null; accuracy: number | null; hallucination_rate: number | null }[];
  sla: { metric: string; model_version: string; value: number | null; threshold: number; breached: boolean }[];
}

/** One system's performance per model version and its SLA readings, loaded when opened. */
function SystemPerformance({ name }: { name: string }) {
  const performance = useApi<Performance>(`/admin/systems/${encodeURIComponent(name)}/performance`);
  if (performance.error) return <Note error={performance.error} />;
  if (!performance.data) return <Loading />;
  return (
    <>
      <Table caption={`${name}: performance per model version (${performance.data.window})`} rows={performance.data.versions} empty="No labelled outcomes yet." columns={[
        { label: 'Model version', cell: (row) => row.model_version },
        { label: 'Labelled', numeric: true, cell: (row) => row.labelled },
        { label: 'Precision', numeric: true, cell: (row) => percent(row.precision) },
        { label: 'Recall', numeric: true, cell: (row) => percent(row.recall) },
        { label: 'Accuracy', numeric: true, cell: (row) => percent(row.accuracy) },
        { label: 'Hallucination', numeric: true, cell: (row) => percent(row.hallucination_rate) },
      ]} />
      <Table caption={`${name}: SLA readings`} rows={performance.data.sla} empty="No SLA is configured." columns={[
        { label: 'Metric', cell: (row) => row.metric },
        { label: 'Model version', cell: (row) => row.model_version },
        { label: 'Value', numeric: true, cell: (row) => text(row.value) },
        { label: 'Threshold', numeric: true, cell: (row) => row.threshold },
        { label: 'Breached', cell: (row) => (row.breached ? <strong class="error">yes</strong> : 'no') },
      ]} />
    </>
  );
}

export function ReviewsPage({ session, can }: PageProps) {
  const [status, setStatus] = useState('pending');
  const queue = useApi<{ data: Decision[] }>(`/admin/reviews?status=${status}&limit=200`);
  const stats = useApi<Stats>('/admin/reviews/stats');
  const systems = useApi<{ data: Record<string, unknown>[] }>(can('read') ? '/admin/systems' : null);
  const decided = () => { queue.reload(); stats.reload(); systems.reload(); };
  const [opened, setOpened] = useState<string | undefined>();
  const [auditing, setAuditing] = useState<string | undefined>();
  // Bias audits group by protected attributes, which only auditor and admin keys may read.
  const readsProtected = session.role === 'auditor' || session.role === 'admin';
  return (
    <>
      <label>Show
        <select value={status} onChange={(event) => setStatus((event.target as HTMLSelectElement).value)}>
          <option value="pending">pending</option><option value="final">decided</option><option value="all">all</option>
        </select>
      </label>
      <Note error={queue.error} />
      {!queue.data ? <Loading /> : (
        <Table caption="Review queue" rows={queue.data.data} empty="The queue is empty." columns={[
          { label: 'Decision', cell: (row) => <code>{row.id}</code> },
          { label: 'System', cell: (row) => row.system },
          { label: 'Department', cell: (row) => row.department },
          { label: 'Subject', cell: (row) => row.subject_ref },
          { label: 'Recommendation', cell: (row) => <>{row.recommendation}{row.score !== null ? ` (${row.score})` : ''}<br /><span class="muted">{row.review?.reason}</span></> },
          { label: 'Created', cell: (row) => time(row.created_at) },
          { label: 'Due', cell: (row) => <>{time(row.review?.due_at)}{row.review?.overdue ? <strong class="error"> overdue</strong> : null}</> },
          { label: 'Status', cell: (row) => (row.status === 'pending_review' ? 'pending' : `${row.status}: ${text(row.final_outcome)}${row.review?.reviewer ? ` by ${row.review.reviewer}` : ''}${row.review?.overridden ? ' (override)' : ''}`) },
          { label: 'Decide', cell: (row) => (row.status === 'pending_review' && can('review-write') ? <Decide decision={row} onDecided={decided} /> : text(row.review?.rationale)) },
        ]} />
      )}
      <Section title="Override statistics">
        <Note error={stats.error} />
        {!stats.data ? <Loading /> : (
          <>
            <Table caption="All reviews" rows={[stats.data.overall]} columns={totalsColumns} />
            <Table caption="By reviewer" rows={stats.data.byReviewer} empty="No reviews yet." columns={[{ label: 'Reviewer', cell: (row) => row.reviewer }, ...totalsColumns]} />
            <Table caption="By system" rows={stats.data.bySystem} empty="No reviews yet." columns={[{ label: 'System', cell: (row) => row.system }, ...totalsColumns]} />
            {stats.data.warnings.length > 0 && <ul class="warnings">{stats.data.warnings.map((warning) => <li>{warning}</li>)}</ul>}
          </>
        )}
      </Section>
      {can('read') && (
        <Section title="AI systems, bias monitors and suspensions">
          <Note error={systems.error} />
          <Table caption="AI systems" rows={systems.data?.data ?? []} empty="No AI systems are configured." columns={[
            { label: 'System', cell: (row) => text(row.name) },
            { label: 'Department', cell: (row) => text(row.department) },
            { label: 'Status', cell: (row) => text(row.status) },
            { label: 'Pending reviews', numeric: true, cell: (row) => text(row.pending_reviews) },
            { label: 'Open breaches', cell: (row) => (Array.isArray(row.open_breaches) && row.open_breaches.length > 0 ? JSON.stringify(row.open_breaches) : 'none') },
            { label: 'Fairness', cell: (row) => (row.fairness ? JSON.stringify(row.fairness) : 'not monitored') },
            { label: 'Performance', cell: (row) => <button type="button" class="link" aria-pressed={opened === row.name} onClick={() => setOpened(String(row.name))}>Performance of {text(row.name)}</button> },
            ...(readsProtected ? [{ label: 'Bias audit', cell: (row: Record<string, unknown>) => <button type="button" class="link" aria-pressed={auditing === row.name} onClick={() => setAuditing(String(row.name))}>Bias audit of {text(row.name)}</button> }] : []),
            { label: 'Action', cell: (row) => (row.status === 'suspended' && can('write')
              ? <ConfirmAction label={`Resume ${text(row.name)}`} confirmLabel="Resume system" needsReason onConfirm={async (reason) => {
                  await api(`/admin/systems/${encodeURIComponent(String(row.name))}/resume`, { method: 'POST', body: { reason } });
                  systems.reload();
                }} />
              : null) },
          ]} />
          {opened && <SystemPerformance key={opened} name={opened} />}
          {readsProtected && auditing && (
            <BiasAuditPanel key={auditing} name={auditing}
              attribute={(systems.data?.data.find((system) => system.name === auditing)?.fairness as { attribute?: string } | null | undefined)?.attribute ?? null} />
          )}
        </Section>
      )}
    </>
  );
}
