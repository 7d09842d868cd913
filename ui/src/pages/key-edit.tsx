// Edit a key made by the admin API: its budgets, rate limit and per-request caps (PATCH /admin/keys/:id; an empty field clears).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { Note } from '../components';

export interface EditableKey {
  id: string; name: string;
  budgets: { usd?: number; tokens?: number; period: string }[];
  rate_limit?: { rpm?: number; tpm?: number; concurrent?: number };
  limits?: { max_prompt_tokens?: number; max_request_usd?: number };
}

interface BudgetRow { amount: string; unit: 'usd' | 'tokens'; period: string }

const periods = ['hour', 'day', 'week', 'month', 'total'];
const shown = (value: number | undefined) => (value === undefined ? '' : String(value));

/** The fields given, as numbers; null when every one is empty (the guard is then cleared). */
function numbers(fields: Record<string, string>): Record<string, number> | null {
  const given = Object.entries(fields).filter(([, value]) => value.trim() !== '').map(([name, value]) => [name, Number(value)]);
  return given.length === 0 ? null : Object.fromEntries(given);
}

export function EditKey({ keyRow, onDone }: { keyRow: EditableKey; onDone: (saved: boolean) => void }) {
  const [budgets, setBudgets] = useState<BudgetRow[]>(keyRow.budgets.map((budget) => (
    budget.usd !== undefined ? { amount: String(budget.usd), unit: 'usd', period: budget.period } : { amount: String(budget.tokens), unit: 'tokens', period: budget.period })));
  const [rate, setRate] = useState({ rpm: shown(keyRow.rate_limit?.rpm), tpm: shown(keyRow.rate_limit?.tpm), concurrent: shown(keyRow.rate_limit?.concurrent) });
  const [limits, setLimits] = useState({ max_request_usd: shown(keyRow.limits?.max_request_usd), max_prompt_tokens: shown(keyRow.limits?.max_prompt_tokens) });
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  // Keyboard users land in the form they opened.
  useEffect(() => { form.current?.querySelector<HTMLElement>('input, select, button')?.focus(); }, []);
  const value = (event: Event) => (event.target as HTMLInputElement).value;
  const setBudget = (index: number, change: Partial<BudgetRow>) => setBudgets(budgets.map((row, at) => (at === index ? { ...row, ...change } : row)));
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await api(`/admin/keys/${encodeURIComponent(keyRow.id)}`, {
        method: 'PATCH',
        body: {
          budgets: budgets.filter((row) => row.amount.trim() !== '').map((row) => ({ [row.unit]: Number(row.amount), period: row.period })),
          rate_limit: numbers(rate),
          limits: numbers(limits),
        },
      });
      onDone(true);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form ref={form} class="edit-form" onSubmit={submit} aria-label={`Edit ${keyRow.name}`}>
      <fieldset>
        <legend>Budgets</legend>
        {budgets.length === 0 && <p class="muted">No budget of its own: only its department's and the organisation's apply.</p>}
        {budgets.map((row, index) => (
          <div class="inline-form">
            <label>Budget {index + 1} amount<input value={row.amount} inputMode="decimal" onInput={(event) => setBudget(index, { amount: value(event) })} /></label>
            <label>Budget {index + 1} unit
              <select value={row.unit} onChange={(event) => setBudget(index, { unit: value(event) as BudgetRow['unit'] })}>
                <option value="usd">USD</option><option value="tokens">tokens</option>
              </select>
            </label>
            <label>Budget {index + 1} period
              <select value={row.period} onChange={(event) => setBudget(index, { period: value(event) })}>
                {periods.map((period) => <option value={period}>{period}</option>)}
              </select>
            </label>
            <button type="button" onClick={() => setBudgets(budgets.filter((_, at) => at !== index))}>Remove budget {index + 1}</button>
          </div>
        ))}
        <button type="button" onClick={() => setBudgets([...budgets, { amount: '', unit: 'usd', period: 'month' }])}>Add a budget</button>
      </fieldset>
      <fieldset class="inline-form">
        <legend>Rate limit (empty for none)</legend>
        <label>Requests per minute<input value={rate.rpm} inputMode="numeric" onInput={(event) => setRate({ ...rate, rpm: value(event) })} /></label>
        <label>Tokens per minute<input value={rate.tpm} inputMode="numeric" onInput={(event) => setRate({ ...rate, tpm: value(event) })} /></label>
        <label>Requests in flight<input value={rate.concurrent} inputMode="numeric" onInput={(event) => setRate({ ...rate, concurrent: value(event) })} /></label>
      </fieldset>
      <fieldset class="inline-form">
        <legend>Limits per request (empty for none)</legend>
        <label>Max cost (USD)<input value={limits.max_request_usd} inputMode="decimal" onInput={(event) => setLimits({ ...limits, max_request_usd: value(event) })} /></label>
        <label>Max prompt tokens<input value={limits.max_prompt_tokens} inputMode="numeric" onInput={(event) => setLimits({ ...limits, max_prompt_tokens: value(event) })} /></label>
      </fieldset>
      <button type="submit" class="primary" disabled={busy}>Save {keyRow.name}</button>
      <button type="button" onClick={() => onDone(false)}>Cancel</button>
      <Note error={error} />
    </form>
  );
}
