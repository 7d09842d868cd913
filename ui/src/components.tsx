// Shared pieces: tables, notes, a confirmation step, and two small SVG charts.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function Note({ error }: { error?: string }) {
  return error ? <p class="error" role="alert">{error}</p> : null;
}

export function Loading() {
  return <p class="muted">Loading…</p>;
}

export interface Column<Row> {
  label: string;
  cell: (row: Row) => ComponentChildren;
  numeric?: boolean;
}

export function Table<Row>({ caption, rows, columns, empty }: { caption: string; rows: Row[]; columns: Column<Row>[]; empty?: string }) {
  if (rows.length === 0) return <p class="muted">{empty ?? `No ${caption.toLowerCase()}.`}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead><tr>{columns.map((column) => <th scope="col" class={column.numeric ? 'num' : ''}>{column.label}</th>)}</tr></thead>
        <tbody>
          {rows.map((row) => <tr>{columns.map((column) => <td class={column.numeric ? 'num' : ''}>{column.cell(row)}</td>)}</tr>)}
        </tbody>
      </table>
    </div>
  );
}

/** A button that asks once more (with an optional reason) before it acts. */
export function ConfirmAction({ label, confirmLabel, needsReason, onConfirm, danger }: {
  label: string; confirmLabel: string; needsReason?: boolean; danger?: boolean; onConfirm: (reason: string) => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  if (!open) return <button type="button" class={danger ? 'danger' : ''} onClick={() => { setOpen(true); setError(undefined); }}>{label}</button>;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await onConfirm(reason.trim());
      setOpen(false);
      setReason('');
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="confirm" onSubmit={submit} aria-label={label}>
      {needsReason !== false && (
        <label>Reason{needsReason ? '' : ' (optional)'}
          <input value={reason} required={needsReason} onInput={(event) => setReason((event.target as HTMLInputElement).value)} autoFocus />
        </label>
      )}
      <button type="submit" class={danger ? 'danger' : 'primary'} disabled={busy}>{confirmLabel}</button>
      <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      <Note error={error} />
    </form>
  );
}

/** A horizontal bar: spent against a limit. */
export function UsageBar({ spent, limit, label }: { spent: number; limit: number; label: string }) {
  const share = limit > 0 ? Math.min(spent / limit, 1) : 0;
  const tone = share >= 0.9 ? 'bar-hot' : share >= 0.7 ? 'bar-warm' : 'bar-ok';
  return (
    <svg class="usage" viewBox="0 0 200 12" role="img" aria-label={`${label}: ${(share * 100).toFixed(1)}% used`} preserveAspectRatio="none">
      <rect x="0" y="0" width="200" height="12" class="bar-track" />
      <rect x="0" y="0" width={200 * share} height="12" class={tone} />
    </svg>
  );
}

/** A line chart of points (x ascending), with an optional horizontal limit line. */
export function LineChart({ points, limit, label, width = 560, height = 160 }: {
  points: [number, number][]; limit?: number; label: string; width?: number; height?: number;
}) {
  if (points.length < 2) return <p class="muted">Not enough data for {label.toLowerCase()} yet.</p>;
  const xs = points.map((point) => point[0]);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const maxY = Math.max(...points.map((point) => point[1]), limit ?? 0) || 1;
  const x = (value: number) => 30 + ((value - minX) / (maxX - minX || 1)) * (width - 40);
  const y = (value: number) => height - 20 - (value / maxY) * (height - 30);
  const path = points.map((point, index) => `${index === 0 ? 'M' : 'L'}${x(point[0]).toFixed(1)},${y(point[1]).toFixed(1)}`).join(' ');
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <line x1="30" x2={width - 10} y1={height - 20} y2={height - 20} class="axis" />
      {limit !== undefined && <line x1="30" x2={width - 10} y1={y(limit)} y2={y(limit)} class="limit" />}
      <path d={path} class="series" />
      <text x="2" y="12" class="tick">{maxY.toPrecision(3)}</text>
      <text x="2" y={height - 22} class="tick">0</text>
    </svg>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return <section aria-label={title}><h2>{title}</h2>{children}</section>;
}
