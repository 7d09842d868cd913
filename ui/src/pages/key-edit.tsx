// Edit a key made by the admin API: its budgets, rate limit and per-request caps (PATCH /admin/keys/:id; an empty field clears),
// only if no one changed the key since the form opened (If-Match with the revision it loaded).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Note } from '../components';

export interface EditableKey {
  id: string; name: string; revision: number;
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

/** What the form holds, in words, so an edit that could not be saved is still in front of the user. */
function entered(budgets: BudgetRow[], ...guards: Record<string, string>[]): string {
  const parts = [
    ...budgets.filter((row) => row.amount.trim() !== '').map((row) => `budget ${row.amount} ${row.unit === 'usd' ? 'USD' : 'tokens'}/${row.period}`),
    ...guards.flatMap((fields) => Object.entries(fields).filter(([, given]) => given.trim() !== '').map(([name, given]) => `${name.replaceAll('_', ' ')} ${given}`)),
  ];
  return parts.length === 0 ? 'no budgets or limits' : parts.join(', ');
}

const budgetRows = (key: EditableKey): BudgetRow[] => key.budgets.map((budget) => (
  budget.usd !== undefined ? { amount: String(budget.usd), unit: 'usd', period: budget.period } : { amount: String(budget.tokens), unit: 'tokens', period: budget.period }));
const rateFields = (key: EditableKey) => ({ rpm: shown(key.rate_limit?.rpm), tpm: shown(key.rate_limit?.tpm), concurrent: shown(key.rate_limit?.concurrent) });
const limitFields = (key: EditableKey) => ({ max_request_usd: shown(key.limits?.max_request_usd), max_prompt_tokens: shown(key.limits?.max_prompt_tokens) });

/** `onChanged` runs when the key turned out to have been changed by someone else (the list is stale too). */
export function EditKey({ keyRow, onDone, onChanged }: { keyRow: EditableKey; onDone: (saved: boolean) => void; onChanged?: () => void }) {
  const [revision, setRevision] = useState(keyRow.revision);
  const [budgets, setBudgets] = useState<BudgetRow[]>(budgetRows(keyRow));
  const [rate, setRate] = useState(rateFields(keyRow));
  const [limits, setLimits] = useState(limitFields(keyRow));
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  // Keyboard users land in the form they opened.
  useEffect(() => { form.current?.querySelector<HTMLElement>('input, select, button')?.focus(); }, []);
  const value = (event: Event) => (event.target as HTMLInputElement).value;
  const setBudget = (index: number, change: Partial<BudgetRow>) => setBudgets(budgets.map((row, at) => (at === index ? { ...row, ...change } : row)));
  const path = `/admin/keys/${encodeURIComponent(keyRow.id)}`;
  /** Someone saved the key since it was loaded: show its current values, and say plainly that this edit was not saved. */
  const reloadChanged = async () => {
    const unsaved = `Your change was not saved (you had entered: ${entered(budgets, rate, limits)}).`;
    try {
      const current = await api<EditableKey>(path);
      setRevision(current.revision);
      setBudgets(budgetRows(current));
      setRate(rateFields(current));
      setLimits(limitFields(current));
      setError(`${keyRow.name} was changed by someone else since you opened it. ${unsaved} The form now shows its current values: make your change again and save.`);
    } catch (failure) {
      setError(`${keyRow.name} was changed by someone else since you opened it. ${unsaved} Its current values could not be loaded: ${(failure as Error).message}`);
    }
    onChanged?.();
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await api(path, {
        method: 'PATCH',
        headers: { 'if-match': `"${revision}"` },
        body: {
          budgets: budgets.filter((row) => row.amount.trim() !== '').map((row) => ({ [row.unit]: Number(row.amount), period: row.period })),
          rate_limit: numbers(rate),
          limits: numbers(limits),
        },
      });
      onDone(true);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 412) await reloadChanged();
      else setError((failure as Error).message);
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
