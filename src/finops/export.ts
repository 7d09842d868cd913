// Spend exports (GET /admin/spend/export, `covenant spend export`): FOCUS CSV, plain CSV or JSON, written line by line.
import { formatMicros } from '../core/money.js';
import { csvLine, type CsvValue } from './csv.js';
import type { UsageRow } from './daily-usage.js';
import { focusColumns, focusRecord } from './focus.js';

export const exportFormats = ['focus', 'csv', 'json'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export function isExportFormat(value: string): value is ExportFormat {
  return (exportFormats as readonly string[]).includes(value);
}

export const plainColumns = [
  'date', 'department', 'key', 'key_id', 'provider', 'alias', 'model_version', 'tags', 'requests',
  'input_tokens', 'output_tokens', 'cached_input_tokens', 'reasoning_tokens', 'cost_usd', 'cost_usd_micros',
] as const;

type PlainRecord = Record<(typeof plainColumns)[number], CsvValue | Readonly<Record<string, string>>>;

function plainRecord(row: UsageRow): PlainRecord {
  return {
    date: row.day, department: row.department, key: row.keyName, key_id: row.keyId, provider: row.provider,
    alias: row.alias, model_version: row.modelVersion, tags: row.tags, requests: row.requests,
    input_tokens: row.inputTokens, output_tokens: row.outputTokens, cached_input_tokens: row.cachedInputTokens,
    reasoning_tokens: row.reasoningTokens, cost_usd: formatMicros(row.costMicros), cost_usd_micros: row.costMicros,
  };
}

export function exportContentType(format: ExportFormat): string {
  return format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8; header=present';
}

export interface ExportHeading {
  organisation: string;
  from: Date;
  to: Date;
}

/**
 * The export's text, a line (or record) at a time, so a large export streams. JSON is one object: the window, the
 * rows and their total in micro-dollars.
 */
export function* exportLines(rows: readonly UsageRow[], format: ExportFormat, heading: ExportHeading): Generator<string> {
  if (format === 'focus') {
    yield csvLine(focusColumns);
    for (const row of rows) {
      const record = focusRecord(row, heading.organisation);
      yield csvLine(focusColumns.map((column) => record[column]));
    }
    return;
  }
  if (format === 'csv') {
    yield csvLine(plainColumns);
    for (const row of rows) {
      const record = plainRecord(row);
      yield csvLine(plainColumns.map((column) => {
        const value = record[column];
        return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
      }));
    }
    return;
  }
  const total = rows.reduce((sum, row) => sum + row.costMicros, 0);
  yield `{"from":${JSON.stringify(heading.from.toISOString())},"to":${JSON.stringify(heading.to.toISOString())},`
    + `"total_cost_usd":"${formatMicros(total)}","total_cost_usd_micros":${total},"rows":[`;
  for (let index = 0; index < rows.length; index += 1) yield `${index === 0 ? '\n' : ',\n'}${JSON.stringify(plainRecord(rows[index]))}`;
  yield '\n]}\n';
}
