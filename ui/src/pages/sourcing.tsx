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
          { label: 'Owner', cell: (row) => text(row.owner ?? row.department) },
          { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
        ]} />
      )}
      {selected && kind === 'systems' && (
        <>
          <h3>Decisions for {selected}</h3>
          <Note error={decisions.error} />
          <Table caption={`Build, partner, buy or invest decisions for ${selected}`} rows={decisions.data?.data ?? []} empty="No decisions recorded." columns={[
            { label: 'When', cell: (row) => time(row.decided_at ?? row.time ?? row.created_at) },
            { label: 'Decision', cell: (row) => text(row.decision ?? row.outcome) },
            { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
          ]} />
        </>
      )}
      {selected && kind === 'vendors' && (
        <>
          <h3>Pre-qualification of {selected}</h3>
          <Note error={qualifications.error} />
          <Table caption={`Qualifications of ${selected}`} rows={qualifications.data?.data ?? []} empty="No qualifications recorded." columns={[
            { label: 'When', cell: (row) => time(row.time ?? row.created_at ?? row.qualified_at) },
            { label: 'Score', numeric: true, cell: (row) => text(row.score) },
            { label: 'Result', cell: (row) => text(row.result ?? row.outcome ?? row.qualified) },
            { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
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
          { label: 'When', cell: (row) => time(row.checked_at ?? row.created_at ?? row.time) },
          { label: 'Contract', cell: (row) => text(row.contract ?? row.name ?? row.file) },
          { label: 'Result', cell: (row) => text(row.status ?? row.result ?? row.summary) },
          { label: 'Detail', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
        ]} />
      </Section>
    </>
  );
}
