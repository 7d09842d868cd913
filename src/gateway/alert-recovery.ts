// At start: the alert deliveries a stopped gateway left `pending` are resumed (budget alerts, session suspensions) or marked failed (governance alerts).
import type { AlertRaiser } from '../alerts/raiser.js';
import type { AlertNotifier } from '../budgets/alerts.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { SessionBreaker } from '../sessions/breaker.js';

export interface InterruptedAlerts {
  budgets: AlertNotifier;
  sessions: SessionBreaker;
  governance: AlertRaiser;
  config: ResolvedConfig;
  /** A shared store's other replicas may be delivering their own alerts right now: only older ones are left over. */
  shared: boolean;
  now: number;
}

/** Why a governance alert's delivery ended without success when a restart found it pending. */
export const interruptedReason = 'the gateway stopped during delivery; not resumed, as the record keeps only the webhook host';

/**
 * An embedded store has one owner, so every pending delivery in it is a stopped run's; in a shared store, one is only
 * once it is older than the longest a delivery runs. Budget alerts and suspensions keep the webhook URL and every
 * field of the body, so their delivery goes on from the attempt after the last one made (at least once: a receiver
 * may get an alert twice if the stop came between its answer and the record of it, as with any retry).
 * @example await recoverInterruptedAlerts({ budgets: notifier, sessions, governance: governanceAlerts, config, shared: stores.shared, now: Date.now() })
 */
export async function recoverInterruptedAlerts(options: InterruptedAlerts): Promise<{ resumed: number; failed: number }> {
  const before = options.shared ? options.now - options.budgets.deliveryMs : options.now;
  const sections = [options.config.org.alerts, ...[...options.config.departments.values()].map((department) => department.alerts)];
  const formatOf = (url: string) => sections.find((alerts) => alerts?.webhook === url)?.format;
  const resumed = await options.budgets.resumeDeliveries(before, formatOf) + await options.sessions.resumeDeliveries(before);
  const failed = await options.governance.failInterrupted(before, interruptedReason);
  return { resumed, failed };
}
