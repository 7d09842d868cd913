// Alerts: budget thresholds, burn rate and session suspensions, with their webhook delivery status.
import { Loading, Note, Table } from '../components';
import { text, time, usd } from '../format';
import { useApi } from '../hooks';
import type { AlertRow } from './overview';

export function AlertsPage() {
  const alerts = useApi<{ data: AlertRow[] }>('/admin/alerts?limit=500');
  if (alerts.error) return <Note error={alerts.error} />;
  if (!alerts.data) return <Loading />;
  return (
    <Table caption="Alerts, newest first" rows={alerts.data.data} empty="No alerts have fired." columns={[
      { label: 'Time', cell: (row) => time(row.time) },
      { label: 'Kind', cell: (row) => row.kind },
      { label: 'Scope', cell: (row) => text(row.label ?? row.scope ?? row.session) },
      { label: 'Threshold', numeric: true, cell: (row) => (typeof row.threshold === 'number' ? `${Math.round(row.threshold * 100)}%` : '—') },
      { label: 'Spent', numeric: true, cell: (row) => (row.spent_usd !== undefined ? usd(row.spent_usd) : text(row.spent)) },
      { label: 'Webhook', cell: (row) => text(row.webhook) },
      { label: 'Delivery', cell: (row) => `${text(row.status)}${typeof row.attempts === 'number' ? ` (${row.attempts} attempts)` : ''}` },
      { label: 'Last error', cell: (row) => text(row.last_error) },
    ]} />
  );
}
