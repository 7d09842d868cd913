// Governance alerts raised by the gateway's assembly: material drift of a served version, and the registry's contract warnings (each once).
import type { AlertRaiser, RaisedAlert } from '../alerts/raiser.js';
import type { GovernanceAlertStore } from '../alerts/store.js';
import type { MaterialDriftEvent } from '../drift/live.js';

/** A material drift as a governance alert: organisation-wide, about the alias's version, with the variances that breached. */
export function materialDriftAlert(event: MaterialDriftEvent): RaisedAlert {
  const variance = `latency ${event.variance.latency}, output tokens ${event.variance.output_tokens}`;
  return {
    kind: 'material_drift', department: null, subject: `${event.alias}@${event.version}`, time: Date.parse(event.detected_at),
    message: `Model "${event.alias}" (${event.version}) drifted materially: variance ${variance} above ${event.max_variance} since ${event.breach_since}.`,
    evidence: { variance: event.variance, max_variance: event.max_variance, window_ms: event.window_ms, breach_since: event.breach_since },
  };
}

/** The alias a contract warning names (`model "alias": ...`), or `contract` when it names none. */
function warningSubject(warning: string): string {
  return /^model "([^"]+)"/.exec(warning)?.[1] ?? 'contract';
}

/**
 * Record each contract warning not yet on record (they are re-checked at every start and reload). They are listed
 * organisation-wide without a webhook post: the ledger and the log already carry them at each check.
 */
export async function recordContractAlerts(store: GovernanceAlertStore, raiser: AlertRaiser, warnings: readonly string[]): Promise<void> {
  if (warnings.length === 0) return;
  const known = new Set((await store.list({ kinds: ['model_contract_warning'], limit: 10_000 })).map((alert) => alert.message));
  for (const warning of new Set(warnings)) {
    if (known.has(warning)) continue;
    await raiser.raiseNow({ kind: 'model_contract_warning', department: null, subject: warningSubject(warning), message: warning, evidence: {} });
  }
}
