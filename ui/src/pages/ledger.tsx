// Ledger: browse and filter entries, verify an entry's inclusion proof and the checkpoint's signature in this browser (Web Crypto), download an evidence bundle.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Loading, Note, Section, Table } from '../components';
import { text, time } from '../format';
import { useApi } from '../hooks';
import { verifyCheckpointSignature } from '../checkpoint';
import { verifyInclusion, type InclusionProof } from '../merkle';

interface Entry { seq: number; time: string; kind: string; department?: string; key?: string; leaf_hash: string; [field: string]: unknown }
interface Head { tree_size: number; root_hash: string; checkpoint: { tree_size: number; root_hash: string; time: string; note: string } | null; public_key: string }
interface Outcome { ok: boolean; detail: string }

function Verify({ seq, head }: { seq: number; head: Head | undefined }) {
  const [result, setResult] = useState<Outcome | undefined>();
  const [signature, setSignature] = useState<Outcome | undefined>();
  const verify = async () => {
    setSignature(undefined);
    try {
      // Against the signed checkpoint when it covers the entry, else the current head.
      const checkpoint = head?.checkpoint && head.checkpoint.tree_size > seq ? head.checkpoint : undefined;
      const proof = await api<InclusionProof>(`/admin/audit/proof?index=${seq}${checkpoint ? `&tree_size=${checkpoint.tree_size}` : ''}`);
      const outcome = await verifyInclusion(proof, checkpoint ? checkpoint.root_hash : proof.root_hash);
      setResult(checkpoint || !outcome.ok ? outcome : { ok: true, detail: `${outcome.detail} No signed checkpoint covers it yet.` });
      // The root above is only evidence when the gateway's key signed it: the note must sign that size and root.
      if (checkpoint && outcome.ok && head) {
        setSignature(await verifyCheckpointSignature(checkpoint.note, head.public_key, { size: checkpoint.tree_size, rootHash: checkpoint.root_hash }));
      }
    } catch (failure) {
      setResult({ ok: false, detail: (failure as Error).message });
    }
  };
  return (
    <>
      <button type="button" onClick={verify}>Verify {seq}</button>
      {result && <span role="status" class={result.ok ? 'ok' : 'error'} data-testid={`verify-${seq}`}>{result.ok ? '✓ verified' : '✗ failed'}: {result.detail}</span>}
      {signature && <span role="status" class={signature.ok ? 'ok' : 'error'} data-testid={`signature-${seq}`}>{signature.ok ? '✓ signature verified' : '✗ signature failed'}: {signature.detail}</span>}
    </>
  );
}

export function LedgerPage() {
  const [kind, setKind] = useState('');
  const [from, setFrom] = useState('0');
  const [filter, setFilter] = useState({ kind: '', from: '0' });
  const head = useApi<Head>('/admin/audit/head');
  const query = `/admin/audit/entries?limit=200&from=${encodeURIComponent(filter.from || '0')}${filter.kind ? `&kind=${encodeURIComponent(filter.kind)}` : ''}`;
  const entries = useApi<{ data: Entry[] }>(query);
  const [bundleError, setBundleError] = useState<string | undefined>();
  const download = async () => {
    try {
      const bundle = await api<unknown>('/admin/audit/export');
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' }));
      link.download = `covenant-ledger-bundle-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.json`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (failure) {
      setBundleError((failure as Error).message);
    }
  };
  return (
    <>
      <Section title="Tree head">
        <Note error={head.error} />
        {head.data ? (
          <p>{head.data.tree_size} entries, root <code>{head.data.root_hash.slice(0, 16)}…</code>.{' '}
            {head.data.checkpoint ? <>Signed checkpoint: size {head.data.checkpoint.tree_size} at {time(head.data.checkpoint.time)}.</> : 'No signed checkpoint yet.'}</p>
        ) : null}
        {head.data ? (
          <p>Verifier key (compare it with the one you were given): <code data-testid="verifier-key">{head.data.public_key}</code></p>
        ) : <Loading />}
        <button type="button" onClick={download}>Download evidence bundle</button>
        <Note error={bundleError} />
      </Section>
      <form class="inline-form" aria-label="Filter entries" onSubmit={(event) => { event.preventDefault(); setFilter({ kind, from }); }}>
        <label>Kind<input value={kind} placeholder="inference, key.created, …" onInput={(event) => setKind((event.target as HTMLInputElement).value)} /></label>
        <label>From entry<input value={from} inputMode="numeric" onInput={(event) => setFrom((event.target as HTMLInputElement).value)} /></label>
        <button type="submit">Filter</button>
      </form>
      <Note error={entries.error} />
      {!entries.data ? <Loading /> : (
        <Table caption="Ledger entries" rows={entries.data.data} empty="No entries match." columns={[
          { label: 'Seq', numeric: true, cell: (row) => row.seq },
          { label: 'Time', cell: (row) => time(row.time) },
          { label: 'Kind', cell: (row) => row.kind },
          { label: 'Department', cell: (row) => text(row.department) },
          { label: 'Key', cell: (row) => text(row.key) },
          { label: 'Entry', cell: (row) => <details><summary>Show</summary><pre class="json">{JSON.stringify(row, null, 2)}</pre></details> },
          { label: 'Proof', cell: (row) => <Verify seq={row.seq} head={head.data} /> },
        ]} />
      )}
    </>
  );
}
