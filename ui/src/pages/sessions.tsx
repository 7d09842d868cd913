// Agent sessions: suspended sessions with their evidence; a person resumes one with a reason.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ConfirmAction, Loading, Note, Table } from '../components';
import { text, time, usd } from '../format';
import { useApi } from '../hooks';
import type { PageProps } from './index';

interface Suspension {
  session: string; label: string | null; department: string; key: string; policy: string; count: number; limit: number; message: string;
  spent_usd: string; suspended_at: string; status: string; resumed_at: string | null; resumed_by: string | null; reason: string | null;
  alert: { webhook: string | null; delivered: boolean; attempts: number; last_error: string | null };
}

export function SessionsPage({ can }: PageProps) {
  const [all, setAll] = useState(false);
  const sessions = useApi<{ data: Suspension[] }>(`/admin/sessions?limit=500${all ? '&all=1' : ''}`);
  return (
    <>
      <label class="toggle"><input type="checkbox" checked={all} onChange={(event) => setAll((event.target as HTMLInputElement).checked)} /> Include resumed sessions</label>
      <Note error={sessions.error} />
      {!sessions.data ? <Loading /> : (
        <Table caption={all ? 'Suspensions' : 'Suspended sessions'} rows={sessions.data.data} empty="No suspended sessions." columns={[
          { label: 'Session', cell: (row) => <>{row.label ?? 'this conversation'}<br /><code class="muted">{row.session}</code></> },
          { label: 'Key', cell: (row) => `${row.department}/${row.key}` },
          { label: 'Why', cell: (row) => <>{row.policy}: {row.count} of {row.limit}<br /><span class="muted">{row.message}</span></> },
          { label: 'Spent', numeric: true, cell: (row) => usd(row.spent_usd) },
          { label: 'Suspended', cell: (row) => time(row.suspended_at) },
          { label: 'Alert', cell: (row) => (row.alert.webhook ? (row.alert.delivered ? 'delivered' : `not delivered (${row.alert.attempts})`) : 'no webhook') },
          { label: 'Status', cell: (row) => (row.status === 'resumed' ? `resumed by ${text(row.resumed_by)}: ${text(row.reason)}` : 'suspended') },
          { label: 'Action', cell: (row) => (row.status === 'suspended' && can('write')
            ? <ConfirmAction label={`Resume ${row.label ?? row.session}`} confirmLabel="Resume session" needsReason
                onConfirm={async (reason) => { await api(`/admin/sessions/${encodeURIComponent(row.session)}/resume`, { method: 'POST', body: { reason } }); sessions.reload(); }} />
            : null) },
        ]} />
      )}
    </>
  );
}
