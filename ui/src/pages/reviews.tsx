// Reviews: the human review queue (decide with a rationale), override statistics, and AI systems with their bias monitors.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Loading, Note, Section, Table } from '../components';
import { text, time } from '../format';
import { useApi } from '../hooks';
import type { PageProps } from './index';

interface Decision {
  id: string; system: string; department: string; subject?: string; outcome: string; status: string; created_at: string; due_at?: string | null;
  overdue?: boolean; reviewer?: string | null; final_outcome?: string | null; rationale?: string | null; [field: string]: unknown;
}

function Decide({ decision, onDecided }: { decision: Decision; onDecided: () => void }) {
  const [outcome, setOutcome] = useState(String(decision.outcome ?? ''));
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

export function ReviewsPage({ can }: PageProps) {
  const [status, setStatus] = useState('pending');
  const queue = useApi<{ data: Decision[] }>(`/admin/reviews?status=${status}&limit=200`);
  const stats = useApi<Record<string, unknown>>('/admin/reviews/stats');
  const systems = useApi<{ data: Record<string, unknown>[] }>(can('read') ? '/admin/systems' : null);
  const decided = () => { queue.reload(); stats.reload(); systems.reload(); };
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
          { label: 'Model outcome', cell: (row) => text(row.outcome) },
          { label: 'Created', cell: (row) => time(row.created_at) },
          { label: 'Due', cell: (row) => <>{time(row.due_at)}{row.overdue ? <strong class="error"> overdue</strong> : null}</> },
          { label: 'Status', cell: (row) => (row.status === 'pending_review' ? 'pending' : `${row.status}${row.reviewer ? ` by ${row.reviewer}` : ''}`) },
          { label: 'Decide', cell: (row) => (row.status === 'pending_review' && can('review-write') ? <Decide decision={row} onDecided={decided} /> : text(row.rationale)) },
        ]} />
      )}
      <Section title="Override statistics">
        <Note error={stats.error} />
        {stats.data ? <pre class="json" tabIndex={0} aria-label="Override statistics">{JSON.stringify(stats.data, null, 2)}</pre> : <Loading />}
      </Section>
      {can('read') && (
        <Section title="AI systems, bias monitors and suspensions">
          <Note error={systems.error} />
          <Table caption="AI systems" rows={systems.data?.data ?? []} empty="No AI systems are configured." columns={[
            { label: 'System', cell: (row) => text(row.name) },
            { label: 'Department', cell: (row) => text(row.department) },
            { label: 'Status', cell: (row) => text(row.status ?? (row.suspended ? 'suspended' : 'active')) },
            { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
          ]} />
        </Section>
      )}
    </>
  );
}
