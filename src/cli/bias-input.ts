// Turns a CSV table into fairness records: groups, the prediction and the label (stored decisions: decisions/bias-audit.ts).
import type { FairnessRecord } from '../core/fairness.js';
import { evaluateComparison, parsePredicate, PredicateSyntaxError, type RowPredicate } from '../core/row-predicate.js';
import { InputError } from './command.js';
import { requireColumn, type CsvTable } from './csv-table.js';

/** A cell is favorable when it equals `favorable`; without one, when it reads 1, true or yes. */
export function isFavorable(value: string, favorable: string | undefined): boolean {
  const text = value.trim();
  return favorable === undefined ? /^(1|true|yes)$/i.test(text) : text === favorable;
}

/** Parse an expression from the command line; a syntax error is an input error naming the option. */
export function parseOption(expression: string, option: string): RowPredicate {
  try {
    return parsePredicate(expression);
  } catch (error) {
    if (error instanceof PredicateSyntaxError) throw new InputError(`${option}: ${error.message}`);
    throw error;
  }
}

function test(predicate: RowPredicate, row: Record<string, string>, favorable: string | undefined): boolean {
  return predicate.kind === 'column' ? isFavorable(row[predicate.column] ?? '', favorable) : evaluateComparison(predicate, row[predicate.column]);
}

export interface TableSelection {
  groups: string[];
  prediction: RowPredicate;
  /** The column holding the true outcome; an empty cell is an unknown outcome. */
  label?: string;
  favorable?: string;
  /** Rows must pass every filter. */
  where: RowPredicate[];
}

/** The records of the rows that pass the filters, and how many rows the filters removed. */
export function recordsFromTable(table: CsvTable, selection: TableSelection, source: string): { records: FairnessRecord[]; filtered: number } {
  for (const group of selection.groups) requireColumn(table, group, source, '--group');
  requireColumn(table, selection.prediction.column, source, '--prediction');
  if (selection.label !== undefined) requireColumn(table, selection.label, source, '--label');
  for (const filter of selection.where) requireColumn(table, filter.column, source, '--where');
  const records: FairnessRecord[] = [];
  let filtered = 0;
  for (const row of table.rows) {
    if (!selection.where.every((filter) => test(filter, row, selection.favorable))) { filtered += 1; continue; }
    const labelCell = selection.label === undefined ? '' : (row[selection.label] ?? '').trim();
    records.push({
      attributes: Object.fromEntries(selection.groups.map((group) => [group, row[group] ?? ''])),
      predicted: test(selection.prediction, row, selection.favorable),
      actual: labelCell === '' ? null : isFavorable(labelCell, selection.favorable),
    });
  }
  return { records, filtered };
}
