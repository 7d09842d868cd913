// Plain-text tables for CLI output: columns padded to their widest cell.

/** Render a header and rows as aligned columns, one line each. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}
