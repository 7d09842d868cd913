// FinOps FOCUS 1.2 rows (https://focus.finops.org/focus-specification/v1-2/) from Covenant's daily usage rows.
import { formatMicros } from '../core/money.js';
import type { CsvValue } from './csv.js';
import type { UsageRow } from './daily-usage.js';

/**
 * The columns, in order: FOCUS 1.2's mandatory columns, the conditional and recommended ones that apply to metered
 * model calls, then Covenant's own dimensions, `x_`-prefixed as the specification requires of custom columns.
 */
export const focusColumns = [
  'BilledCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodEnd', 'BillingPeriodStart',
  'ChargeCategory', 'ChargeClass', 'ChargeDescription', 'ChargeFrequency', 'ChargePeriodEnd', 'ChargePeriodStart',
  'ConsumedQuantity', 'ConsumedUnit', 'ContractedCost', 'EffectiveCost', 'InvoiceIssuerName', 'ListCost',
  'PricingCategory', 'PricingQuantity', 'PricingUnit', 'ProviderName', 'PublisherName', 'ResourceId', 'ResourceName',
  'ResourceType', 'ServiceCategory', 'ServiceName', 'ServiceSubcategory', 'SkuId', 'SubAccountId', 'SubAccountName', 'Tags',
  'x_Department', 'x_KeyId', 'x_KeyName', 'x_ModelAlias', 'x_ModelVersion', 'x_Requests', 'x_InputTokens',
  'x_OutputTokens', 'x_CachedInputTokens', 'x_ReasoningTokens', 'x_CostMicros',
] as const;

export type FocusColumn = (typeof focusColumns)[number];
export type FocusRecord = Record<FocusColumn, CsvValue>;

/** FOCUS date-times: ISO 8601 in UTC with seconds and a Z. */
function focusTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function addDays(day: string, days: number): Date {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date;
}

/**
 * One FOCUS record. Costs are exact decimals from integer micro-dollars; List, Contracted, Effective and Billed cost are
 * equal, as the gateway knows no discount or commitment. The charge period is the row's UTC day, the billing period
 * its UTC calendar month; the organisation is the billing account and the department the sub-account.
 */
export function focusRecord(row: UsageRow, organisation: string): FocusRecord {
  const cost = formatMicros(row.costMicros);
  const dayStart = addDays(row.day, 0);
  const monthStart = new Date(Date.UTC(dayStart.getUTCFullYear(), dayStart.getUTCMonth(), 1));
  const monthEnd = new Date(Date.UTC(dayStart.getUTCFullYear(), dayStart.getUTCMonth() + 1, 1));
  const tokens = row.inputTokens + row.outputTokens;
  const provider = row.provider ?? 'unknown';
  return {
    BilledCost: cost,
    BillingAccountId: organisation,
    BillingAccountName: organisation,
    BillingCurrency: 'USD',
    BillingPeriodEnd: focusTime(monthEnd),
    BillingPeriodStart: focusTime(monthStart),
    ChargeCategory: 'Usage',
    // Null for a regular charge; 'Correction' is the only other allowed value.
    ChargeClass: null,
    ChargeDescription: `${tokens} tokens (${row.inputTokens} input, ${row.outputTokens} output) of ${row.modelVersion ?? 'an unknown model'} in ${row.requests} requests`,
    ChargeFrequency: 'Usage-Based',
    ChargePeriodEnd: focusTime(addDays(row.day, 1)),
    ChargePeriodStart: focusTime(dayStart),
    ConsumedQuantity: tokens,
    ConsumedUnit: 'Tokens',
    ContractedCost: cost,
    EffectiveCost: cost,
    InvoiceIssuerName: provider,
    ListCost: cost,
    PricingCategory: 'Standard',
    PricingQuantity: tokens,
    PricingUnit: 'Tokens',
    ProviderName: provider,
    PublisherName: provider,
    ResourceId: row.keyId,
    ResourceName: row.keyName,
    ResourceType: 'Virtual key',
    ServiceCategory: 'AI and Machine Learning',
    ServiceName: provider,
    ServiceSubcategory: 'Generative AI',
    SkuId: row.modelVersion,
    SubAccountId: row.department,
    SubAccountName: row.department,
    Tags: JSON.stringify(row.tags),
    x_Department: row.department,
    x_KeyId: row.keyId,
    x_KeyName: row.keyName,
    x_ModelAlias: row.alias,
    x_ModelVersion: row.modelVersion,
    x_Requests: row.requests,
    x_InputTokens: row.inputTokens,
    x_OutputTokens: row.outputTokens,
    x_CachedInputTokens: row.cachedInputTokens,
    x_ReasoningTokens: row.reasoningTokens,
    x_CostMicros: row.costMicros,
  };
}
