// The Reviews page's bias audit panel: run GET /admin/systems/:name/bias-audit and show each group's selection rate with its interval.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Note, Table } from '../components';

interface Rate { value: number; lower: number; upper: number; successes: number; trials: number }
interface Group {
  group: string; count: number; selected: number; labelled: number; small: boolean; impact_ratio: number | null;
  selection_rate: Rate | null; false_positive_rate: Rate | null; false_negative_rate: Rate | null;
}
interface Report {
  attributes: string[]; verdict: 'pass' | 'fail'; min_impact_ratio: number; minimum_impact_ratio: number | null;
  minimum_impact_group: string | null; reference_group: string | null; groups: Group[]; withheld: { groups: number; decisions: number };
}
interface Audit { decisions: number; filtered: number; min_group_size: number; available_attributes: string[]; reports: Report[] }

const fixed = (value: number | null | undefined) => (value === null || value === undefined ? '—' : value.toFixed(3));
const interval = (rate: Rate | null) => (rate === null ? '—' : `${fixed(rate.value)} [${fixed(rate.lower)}, ${fixed(rate.upper)}]`);

/** Horizontal bars of selection rates in [0, 1] with interval whiskers and a dashed line at the four-fifths level. */
function SelectionChart({ report }: { report: Report }) {
  const labelWidth = 140;
  const plotWidth = 360;
  const rowHeight = 22;
  const height = 24 + report.groups.length * rowHeight + 18;
  const x = (value: number) => labelWidth + value * plotWidth;
  const reference = report.groups.find((group) => group.group === report.reference_group)?.selection_rate?.value;
  const level = reference === undefined ? undefined : reference * report.min_impact_ratio;
  const summary = report.groups.map((group) => `${group.group} ${interval(group.selection_rate)}`).join('; ');
  return (
    <svg class="chart" viewBox={`0 0 ${labelWidth + plotWidth + 60} ${height}`} role="img" aria-label={`Selection rate by ${report.attributes.join(' and ')}: ${summary}`}>
      {[0, 0.5, 1].map((tick) => <text x={x(tick)} y={height - 4} text-anchor="middle" class="tick">{tick}</text>)}
      <line x1={x(0)} x2={x(0)} y1={16} y2={height - 16} class="axis" />
      {report.groups.map((group, index) => {
        const y = 20 + index * rowHeight;
        const rate = group.selection_rate;
        return (
          <g>
            <text x={labelWidth - 6} y={y + 14} text-anchor="end" class="tick">{group.small ? `${group.group}*` : group.group}</text>
            {rate && <>
              <rect x={x(0)} y={y + 3} width={rate.value * plotWidth} height={rowHeight - 6} class={group.small ? 'bar-track' : 'bar-rate'} />
              <line x1={x(rate.lower)} x2={x(rate.upper)} y1={y + rowHeight / 2} y2={y + rowHeight / 2} class="whisker" />
              <line x1={x(rate.lower)} x2={x(rate.lower)} y1={y + 5} y2={y + rowHeight - 5} class="whisker" />
              <line x1={x(rate.upper)} x2={x(rate.upper)} y1={y + 5} y2={y + rowHeight - 5} class="whisker" />
              <text x={x(rate.upper) + 4} y={y + 14} class="tick">{fixed(rate.value)}</text>
            </>}
          </g>
        );
      })}
      {level !== undefined && <>
        <line x1={x(level)} x2={x(level)} y1={14} y2={height - 16} class="limit" />
        <text x={x(level) + 3} y={11} class="tick">{report.min_impact_ratio} × most selected</text>
      </>}
    </svg>
  );
}

function ReportView({ report, minGroupSize }: { report: Report; minGroupSize: number }) {
  const title = report.attributes.join(' × ');
  return (
    <>
      <p class="verdict">
        By {title}: <strong class={report.verdict === 'pass' ? 'good' : 'error'}>{report.verdict === 'pass' ? 'PASS' : 'FAIL'}</strong>
        {report.minimum_impact_ratio === null ? ' — no group was selected, so the impact ratio is not defined.'
          : ` — lowest impact ratio ${fixed(report.minimum_impact_ratio)} (${report.minimum_impact_group} vs ${report.reference_group}); minimum ${report.min_impact_ratio.toFixed(2)}.`}
      </p>
      <SelectionChart report={report} />
      <Table caption={`Bias audit by ${title}`} rows={report.groups} empty="No group is large enough to show." columns={[
        { label: 'Group', cell: (row) => (row.small ? `${row.group}*` : row.group) },
        { label: 'Count', numeric: true, cell: (row) => row.count },
        { label: 'Selection rate [95% interval]', numeric: true, cell: (row) => interval(row.selection_rate) },
        { label: 'FPR', numeric: true, cell: (row) => interval(row.false_positive_rate) },
        { label: 'FNR', numeric: true, cell: (row) => interval(row.false_negative_rate) },
        { label: 'Impact ratio', numeric: true, cell: (row) => fixed(row.impact_ratio) },
      ]} />
      {report.groups.some((group) => group.small) && <p class="muted">* a small share of the decisions: shown, left out of the ratios.</p>}
      {report.withheld.groups > 0 && <p class="muted">{report.withheld.groups} group(s) with {report.withheld.decisions} decision(s) under the minimum group size of {minGroupSize} withheld.</p>}
    </>
  );
}

/** Choose the protected attribute and the window, run the audit, see the verdict. For auditor and admin keys. */
export function BiasAuditPanel({ name, attribute: monitored }: { name: string; attribute: string | null }) {
  const [attribute, setAttribute] = useState(monitored ?? '');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [audit, setAudit] = useState<Audit | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async (event: Event) => {
    event.preventDefault();
    const query = new URLSearchParams({ attribute: attribute.trim() });
    if (from) query.set('from', `${from}T00:00:00Z`);
    if (to) query.set('to', `${to}T00:00:00Z`);
    setBusy(true);
    try {
      setAudit(await api<Audit>(`/admin/systems/${encodeURIComponent(name)}/bias-audit?${query}`));
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const listId = `bias-attributes-${name}`;
  return (
    <section aria-label={`Bias audit of ${name}`}>
      <h3>Bias audit of {name}</h3>
      <form class="inline-form" onSubmit={run} aria-label={`Run a bias audit of ${name}`}>
        <label>Protected attribute<input value={attribute} required list={listId} onInput={(event) => setAttribute((event.target as HTMLInputElement).value)} /></label>
        <datalist id={listId}>{[...new Set([monitored, ...(audit?.available_attributes ?? [])])].filter(Boolean).map((option) => <option value={option as string} />)}</datalist>
        <label>From<input type="date" value={from} onInput={(event) => setFrom((event.target as HTMLInputElement).value)} /></label>
        <label>Before<input type="date" value={to} onInput={(event) => setTo((event.target as HTMLInputElement).value)} /></label>
        <button type="submit" class="primary" disabled={busy}>Run audit</button>
      </form>
      <Note error={error} />
      {audit && (
        <div aria-live="polite">
          <p class="muted">{audit.decisions} decisions{audit.filtered ? ` (${audit.filtered} without the attribute left out)` : ''}.</p>
          {audit.reports.map((report) => <ReportView report={report} minGroupSize={audit.min_group_size} />)}
        </div>
      )}
    </section>
  );
}
