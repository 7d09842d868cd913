// Sourcing: the inventory (systems, vendors, models, contracts), build/buy decisions, vendor pre-qualification, contract checks.
import { useState } from 'preact/hooks';
import { Loading, Note, Section, Table } from '../components';
import { text, time } from '../format';
import { useApi } from '../hooks';

type Row = Record<string, unknown>;
const kinds = ['systems', 'vendors', 'models', 'contracts'] as const;

function Inventory() {
  const [kind, setKind] = useState<string>('systems');
  const rows = useApi<{ data: Row[] }>(`/admin/inventory/${kind}`);
  const [selected, setSelected] = useState<string | undefined>();
  const decisions = useApi<{ data: Row[] }>(kind === 'systems' && selected ? `/admin/inventory/systems/${encodeURIComponent(selected)}/decisions` : null);
  const qualifications = useApi<{ data: Row[] }>(kind === 'vendors' && selected ? `/admin/inventory/vendors/${encodeURIComponent(selected)}/qualifications` : null);
  return (
    <Section title="Inventory">
      <div role="group" aria-label="Inventory kind" class="tabs">
        {kinds.map((value) => <button type="button" aria-pressed={kind === value} onClick={() => { setKind(value); setSelected(undefined); }}>{value}</button>)}
      </div>
      <Note error={rows.error} />
      {!rows.data ? <Loading /> : (
        <Table caption={`Inventory: ${kind}`} rows={rows.data.data} empty={`No ${kind} in the inventory.`} columns={[
          { label: 'Name', cell: (row) => (kind === 'systems' || kind === 'vendors'
            ? <button type="button" class="link" aria-pressed={selected === row.name} onClick={() => setSelected(String(row.name))}>{text(row.name)}</button>
            : text(row.name)) },
          ...(kind === 'systems' ? [
            { label: 'Department', cell: (row: Row) => text(row.department) },
            { label: 'Owner', cell: (row: Row) => text(row.owner) },
            { label: 'Risk tier', cell: (row: Row) => text(row.risk_tier) },
            { label: 'Strategy', cell: (row: Row) => text(row.strategy) },
          ] : kind === 'vendors' ? [
            { label: 'Layer', cell: (row: Row) => text(row.layer) },
            { label: 'Services', cell: (row: Row) => (Array.isArray(row.services) ? row.services.join(', ') : text(row.services)) },
          ] : kind === 'models' ? [
            { label: 'Alias', cell: (row: Row) => text(row.alias) },
            { label: 'Version', cell: (row: Row) => text(row.version) },
            { label: 'Vendor', cell: (row: Row) => text(row.vendor) },
          ] : [
            { label: 'Vendor', cell: (row: Row) => text(row.vendor) },
          ]),
          { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
        ]} />
      )}
      {selected && kind === 'systems' && (
        <>
          <h3>Decisions for {selected}</h3>
          <Note error={decisions.error} />
          <Table caption={`Build, partner, buy or invest decisions for ${selected}`} rows={decisions.data?.data ?? []} empty="No decisions recorded." columns={[
            { label: 'When', cell: (row) => time(row.at) },
            { label: 'Strategy', cell: (row) => text(row.strategy) },
            { label: 'Answers', cell: (row) => Object.entries((row.answers ?? {}) as Record<string, unknown>).map(([question, answer]) => `${question}: ${answer ? 'yes' : 'no'}`).join(', ') },
            { label: 'By', cell: (row) => text(row.by) },
          ]} />
        </>
      )}
      {selected && kind === 'vendors' && (
        <>
          <h3>Pre-qualification of {selected}</h3>
          <Note error={qualifications.error} />
          <Table caption={`Qualifications of ${selected}`} rows={qualifications.data?.data ?? []} empty="No qualifications recorded." columns={[
            { label: 'When', cell: (row) => time(row.at ?? row.time) },
            { label: 'Score', numeric: true, cell: (row) => text(row.score) },
            { label: 'Result', cell: (row) => (row.passed ? 'passed' : <strong class="error">failed</strong>) },
            { label: 'Reasons', cell: (row) => <ul>{(((row.detail as { reasons?: string[] } | undefined)?.reasons) ?? []).map((reason) => <li>{reason}</li>)}</ul> },
          ]} />
        </>
      )}
    </Section>
  );
}

export function SourcingPage() {
  const checks = useApi<{ data: Row[] }>('/admin/contract-checks');
  return (
    <>
      <Inventory />
      <Section title="Contract checks">
        <Note error={checks.error} />
        <Table caption="Contract checks" rows={checks.data?.data ?? []} empty="No contract has been checked." columns={[
          { label: 'When', cell: (row) => time(row.checked_at) },
          { label: 'Contract', cell: (row) => `${text(row.contract_id)} (${text(row.file)})` },
          { label: 'Blueprint', cell: (row) => text(row.blueprint) },
          { label: 'Department', cell: (row) => text(row.department) },
          { label: 'Result', cell: (row) => (row.passed ? 'passed' : <strong class="error">failed</strong>) },
          { label: 'Missing clauses', cell: (row) => (Array.isArray(row.missing) ? row.missing.join(', ') || 'none' : '—') },
          { label: 'Weaker clauses', cell: (row) => (Array.isArray(row.weaker) ? row.weaker.join(', ') || 'none' : '—') },
          { label: 'By', cell: (row) => text(row.checked_by) },
          { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
        ]} />
      </Section>
    </>
  );
}
