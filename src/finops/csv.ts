// A small RFC 4180 CSV writer: fields quoted only when they must be, quotes doubled, CRLF line ends.

export type CsvValue = string | number | null | undefined;

/** One field: quoted when it holds a comma, a quote, CR or LF (RFC 4180 §2.6), with its quotes doubled (§2.7). */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, ending in CRLF (RFC 4180 §2.1). */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
