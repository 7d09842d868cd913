// Overview: organisation spend against its budgets, burn-down, top departments, keys, users and models, request rate, recent alerts.
import { useEffect } from 'preact/hooks';
import { LineChart, Loading, Note, Section, Table, UsageBar } from '../components';
import { text, time, usd } from '../format';
import { useApi } from '../hooks';

export interface SpendLine {
  unit: string; period: string; window: string; period_start: string; period_end: string; projected_exhaustion_at: string | null;
  [amount: string]: string | number | null;
}
export interface SpendScope { scope: string; key?: string; budgets: SpendLine[] }
export interface RequestRow {
  id: string; time: string; key: string; department: string; user: string | null; alias: string; status: number; error_code: string | null;
  cost_usd: string; cost_micros: number;
}
export interface AlertRow { id: string; kind: string; scope?: string; label?: string; time: string; status?: string; threshold?: number; [field: string]: unknown }

export function scopeName(scope: SpendScope): string {
  return scope.key ? `key ${scope.key}` : scope.scope;
}

function amount(line: SpendLine, field: 'spent' | 'limit' | 'remaining' | 'reserved'): string {
  return line.unit === 'usd' ? usd(line[field]) : text(line[field]);
}

function ratio(line: SpendLine): [number, number] {
  const spent = Number(line.unit === 'usd' ? line.spent_micros : line.spent);
  const limit = Number(line.unit === 'usd' ? line.limit_micros : line.limit);
  return [spent, limit];
}

function top(rows: RequestRow[], by: (row: RequestRow) => string | null): { name: string; requests: number; micros: number }[] {
  const totals = new Map<string, { name: string; requests: number; micros: number }>();
  for (const row of rows) {
    const name = by(row) ?? '—';
    const total = totals.get(name) ?? { name, requests: 0, micros: 0 };
    total.requests += 1;
    total.micros += row.cost_micros;
    totals.set(name, total);
  }
  return [...totals.values()].sort((a, b) => b.micros - a.micros).slice(0, 5);
}

export function BudgetTable({ scopes, caption }: { scopes: SpendScope[]; caption: string }) {
  const rows = scopes.flatMap((scope) => scope.budgets.map((line) => ({ scope, line })));
  return (
    <Table caption={caption} rows={rows} empty="No budgets are configured." columns={[
      { label: 'Scope', cell: ({ scope }) => scopeName(scope) },
      { label: 'Period', cell: ({ line }) => `${line.period} (${line.window})` },
      { label: 'Spent', numeric: true, cell: ({ line }) => <span data-testid={`spent-${line.unit}`}>{amount(line, 'spent')}</span> },
      { label: 'Limit', numeric: true, cell: ({ line }) => amount(line, 'limit') },
      { label: 'Remaining', numeric: true, cell: ({ line }) => amount(line, 'remaining') },
      { label: 'Used', cell: ({ scope, line }) => { const [spent, limit] = ratio(line); return <UsageBar spent={spent} limit={limit} label={`${scopeName(scope)} ${line.period}`} />; } },
      { label: 'Projected exhaustion', cell: ({ line }) => (line.projected_exhaustion_at ? time(line.projected_exhaustion_at) : 'lasts the period') },
    ]} />
  );
}

export function OverviewPage() {
  const spend = useApi<{ time: string; scopes: SpendScope[] }>('/admin/spend');
  const requests = useApi<{ data: RequestRow[] }>('/admin/requests?limit=1000');
  const alerts = useApi<{ data: AlertRow[] }>('/admin/alerts?limit=10');
  // Live: the figures refresh every 10 seconds.
  useEffect(() => {
    const timer = setInterval(() => { spend.reload(); requests.reload(); alerts.reload(); }, 10_000);
    return () => clearInterval(timer);
  }, []);
  if (spend.error) return <Note error={spend.error} />;
  if (!spend.data) return <Loading />;
  const scopes = spend.data.scopes;
  const organisation = scopes.filter((scope) => scope.scope === 'org');
  const departments = scopes.filter((scope) => scope.scope.startsWith('department:'));
  const rows = requests.data?.data ?? [];
  const ordered = [...rows].sort((a, b) => a.time.localeCompare(b.time));
  const monthly = organisation[0]?.budgets.find((line) => line.unit === 'usd');
  const since = monthly ? Date.parse(monthly.period_start) : 0;
  let cumulative = 0;
  const burn: [number, number][] = ordered.filter((row) => Date.parse(row.time) >= since).map((row) => {
    cumulative += row.cost_micros / 1_000_000;
    return [Date.parse(row.time), cumulative];
  });
  const lastMinute = rows.filter((row) => Date.now() - Date.parse(row.time) < 60_000);
  const refused = lastMinute.filter((row) => row.status >= 400).length;
  return (
    <>
      <p class="muted">As of {time(spend.data.time)} UTC. Figures refresh every 10 seconds.</p>
      <div class="cards">
        {(organisation.length > 0 ? organisation : departments).flatMap((scope) => scope.budgets.map((line) => ({ scope, line }))).map(({ scope, line }) => (
          <div class="card">
            <h2>{scope.scope === 'org' ? 'Organisation' : scope.scope.replace('department:', 'Department ')} · {line.period}</h2>
            <p class="big" data-testid={`${scope.scope === 'org' ? 'org' : 'department'}-spent-${line.period}`}>{line.unit === 'usd' ? `$${line.spent}` : text(line.spent)}</p>
            <p>of {amount(line, 'limit')}</p>
            <UsageBar spent={ratio(line)[0]} limit={ratio(line)[1]} label={`${scopeName(scope)} ${line.period}`} />
            <p class="muted">{line.projected_exhaustion_at ? `Projected exhaustion ${time(line.projected_exhaustion_at)}` : 'Lasts the period at the recent rate'}</p>
          </div>
        ))}
        <div class="card">
          <h2>Last minute</h2>
          <p class="big" data-testid="request-rate">{lastMinute.length}</p>
          <p>requests, {refused} refused</p>
        </div>
      </div>
      <Section title="Burn-down">
        <LineChart label="Cumulative organisation spend (USD) this period against its budget" points={burn} limit={monthly ? Number(monthly.limit) : undefined} />
      </Section>
      <BudgetTable caption="Organisation and departments" scopes={[...organisation, ...departments]} />
      <div class="columns">
        {([['Top departments', (row: RequestRow) => row.department], ['Top keys', (row: RequestRow) => `${row.department}/${row.key}`],
          ['Top users', (row: RequestRow) => row.user], ['Top models', (row: RequestRow) => row.alias]] as const).map(([title, by]) => (
          <Table caption={`${title} (last ${rows.length} requests)`} rows={top(rows, by)} empty={`${title}: no requests yet.`} columns={[
            { label: 'Name', cell: (row) => row.name },
            { label: 'Requests', numeric: true, cell: (row) => row.requests },
            { label: 'Cost', numeric: true, cell: (row) => usd(row.micros / 1_000_000) },
          ]} />
        ))}
      </div>
      <Section title="Recent alerts">
        <Note error={alerts.error} />
        <Table caption="Recent alerts" rows={alerts.data?.data ?? []} empty="No alerts." columns={[
          { label: 'Time', cell: (row) => time(row.time) },
          { label: 'Kind', cell: (row) => row.kind },
          { label: 'Scope', cell: (row) => text(row.label ?? row.scope ?? row.session) },
          { label: 'Delivery', cell: (row) => text(row.status) },
        ]} />
      </Section>
    </>
  );
}
