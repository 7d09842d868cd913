// The budget domain's own types (periods and limits), so core reads no config module; the config schema produces them.

/** The periods a budget window can span, shortest first. */
export const periods = ['hour', 'day', 'week', 'month', 'total'] as const;

export type Period = (typeof periods)[number];

/** One budget: a limit in exactly one unit (dollars or tokens) per period. */
export interface BudgetConfig {
  usd?: number;
  tokens?: number;
  period: Period;
}
