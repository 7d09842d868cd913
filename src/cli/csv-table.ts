// Reads a CSV file with a header row into text cells by column name (csv-parse), for the bias audit and explain commands.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { InputError } from './command.js';

export interface CsvTable {
  columns: string[];
  rows: Record<string, string>[];
}

/** Parse CSV text whose first row names the columns; cells are trimmed. */
export function parseCsv(text: string, source: string): CsvTable {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][];
  } catch (error) {
    throw new InputError(`${source} is not valid CSV: ${(error as Error).message}`);
  }
  if (records.length === 0) throw new InputError(`${source} is empty (it needs a header row naming the columns)`);
  const [columns, ...cells] = records;
  const duplicate = columns.find((column, index) => columns.indexOf(column) !== index);
  if (duplicate !== undefined) throw new InputError(`${source} names the column "${duplicate}" twice`);
  const rows = cells.map((row) => Object.fromEntries(columns.map((column, index) => [column, row[index] ?? ''])));
  return { columns, rows };
}

/** Read and parse a CSV file; a missing or unreadable file is an input error. */
export function readCsvFile(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseCsv(text, path);
}

/** Throws an input error naming the known columns when `column` is not one of them. */
export function requireColumn(table: CsvTable, column: string, source: string, role: string): void {
  if (!table.columns.includes(column)) {
    throw new InputError(`${role} "${column}" is not a column of ${source}; its columns are: ${table.columns.join(', ')}`);
  }
}
