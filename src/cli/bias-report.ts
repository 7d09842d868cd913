// Renders bias audit reports as a text table, JSON, or one self-contained HTML page with inline SVG charts.
import type { FairnessReport, GroupMetrics } from '../core/fairness.js';
import type { RateEstimate } from '../core/intervals.js';
import type { AuditDescription, BiasAudit } from '../decisions/bias-audit.js';

export type { AuditDescription, BiasAudit } from '../decisions/bias-audit.js';

function fixed(value: number | null, digits = 3): string {
  return value === null ? '-' : value.toFixed(digits);
}

function rate(estimate: RateEstimate | null): string {
  return estimate === null ? '-' : `${estimate.value.toFixed(3)} [${estimate.lower.toFixed(3)}, ${estimate.upper.toFixed(3)}]`;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const render = (cells: string[]) => cells.map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}

function attributeTitle(report: FairnessReport): string {
  return report.attributes.join(' × ');
}

/** The verdict line of a report. */
export function verdict(report: FairnessReport): string {
  const threshold = report.minImpactRatioThreshold.toFixed(2);
  if (report.minimumImpactRatio === null) return `Impact ratio: not defined (no eligible group was selected) — PASS`;
  const result = report.passesFourFifths ? 'PASS' : 'FAIL';
  return `Lowest impact ratio: ${report.minimumImpactRatio.toFixed(3)} (${report.minimumImpactGroup} vs ${report.referenceGroup}); minimum ${threshold} — ${result}`;
}

function groupRow(group: GroupMetrics): string[] {
  return [
    group.small ? `${group.key}*` : group.key, String(group.counts.count), percent(group.share),
    rate(group.selectionRate), rate(group.truePositiveRate), rate(group.falsePositiveRate), rate(group.falseNegativeRate), rate(group.precision),
    group.small ? 'small' : fixed(group.impactRatio),
  ];
}

/** The text report: one table per breakdown, its differences and its verdict. */
export function formatAuditText(audit: BiasAudit): string {
  const { description } = audit;
  const confidence = `${Math.round(description.confidence * 100)}%`;
  const lines = [
    `Bias audit of ${description.source}: ${description.records} records${description.filtered ? ` (${description.filtered} filtered out)` : ''}`,
    `Selected: ${description.prediction}; outcome: ${description.label ?? 'none (selection rates only)'}; rates with ${confidence} Wilson intervals`,
  ];
  for (const report of audit.reports) {
    lines.push('', `By ${attributeTitle(report)}`);
    lines.push(table(['GROUP', 'COUNT', 'SHARE', 'SELECTION RATE', 'TPR', 'FPR', 'FNR', 'PRECISION', 'IMPACT'], report.groups.map(groupRow), new Set([1, 2])));
    if (report.smallGroups.length > 0) lines.push(`* under ${percent(description.minGroupShare)} of records: reported, left out of the ratios and differences`);
    lines.push(
      `Demographic parity difference ${fixed(report.demographicParityDifference)}, ratio ${fixed(report.demographicParityRatio)}`,
      `Equalized odds difference ${fixed(report.equalizedOddsDifference)} (TPR gap ${fixed(report.truePositiveRateDifference)}, FPR gap ${fixed(report.falsePositiveRateDifference)})`,
      `Equal opportunity difference ${fixed(report.equalOpportunityDifference)}`,
      verdict(report),
    );
  }
  lines.push('', audit.passes ? 'Result: PASS — every breakdown meets the minimum impact ratio.' : 'Result: FAIL — a breakdown is below the minimum impact ratio.');
  return `${lines.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

interface Bar {
  label: string;
  series: string;
  estimate: RateEstimate | null;
  colour: string;
}

/** A horizontal bar chart of rates in [0, 1] with interval whiskers; `marker` draws a dashed line (the four-fifths level). */
function barChart(title: string, bars: Bar[], marker?: { value: number; label: string }): string {
  const labelWidth = 210;
  const plotWidth = 380;
  const rowHeight = 20;
  const top = 28;
  const height = top + bars.length * rowHeight + 28;
  const x = (value: number) => labelWidth + value * plotWidth;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 70}" height="${height}" role="img" aria-label="${escape(title)}">`,
    `<text x="0" y="16" font-weight="bold">${escape(title)}</text>`];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 4}" x2="${x(tick)}" y2="${height - 22}" stroke="#ddd"/>`,
      `<text x="${x(tick)}" y="${height - 8}" text-anchor="middle" font-size="11">${tick}</text>`);
  }
  bars.forEach((bar, index) => {
    const y = top + index * rowHeight;
    parts.push(`<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end" font-size="12">${escape(bar.label)}${bar.series ? ` ${escape(bar.series)}` : ''}</text>`);
    if (bar.estimate === null) {
      parts.push(`<text x="${x(0) + 4}" y="${y + 14}" font-size="11" fill="#888">no data</text>`);
      return;
    }
    const { value, lower, upper } = bar.estimate;
    parts.push(`<rect x="${x(0)}" y="${y + 3}" width="${(value * plotWidth).toFixed(1)}" height="${rowHeight - 6}" fill="${bar.colour}"><title>${escape(`${bar.label} ${bar.series}: ${rate(bar.estimate)}`)}</title></rect>`,
      `<line x1="${x(lower).toFixed(1)}" y1="${y + rowHeight / 2}" x2="${x(upper).toFixed(1)}" y2="${y + rowHeight / 2}" stroke="#222"/>`,
      `<line x1="${x(lower).toFixed(1)}" y1="${y + 5}" x2="${x(lower).toFixed(1)}" y2="${y + rowHeight - 5}" stroke="#222"/>`,
      `<line x1="${x(upper).toFixed(1)}" y1="${y + 5}" x2="${x(upper).toFixed(1)}" y2="${y + rowHeight - 5}" stroke="#222"/>`,
      `<text x="${(x(upper) + 4).toFixed(1)}" y="${y + 14}" font-size="11">${value.toFixed(3)}</text>`);
  });
  if (marker) {
    parts.push(`<line x1="${x(marker.value).toFixed(1)}" y1="${top - 4}" x2="${x(marker.value).toFixed(1)}" y2="${height - 22}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${(x(marker.value) + 3).toFixed(1)}" y="${top - 6}" font-size="10" fill="#c00">${escape(marker.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function reportSection(report: FairnessReport, description: AuditDescription): string {
  const reference = report.groups.find((group) => group.key === report.referenceGroup)?.selectionRate?.value;
  const selection = barChart(`Selection rate by ${attributeTitle(report)}`,
    report.groups.map((group) => ({ label: group.small ? `${group.key}*` : group.key, series: '', estimate: group.selectionRate, colour: group.small ? '#bbb' : '#4a7ab5' })),
    reference === undefined ? undefined : { value: reference * report.minImpactRatioThreshold, label: `${report.minImpactRatioThreshold} × most selected` });
  const errors = barChart(`False positive and false negative rates by ${attributeTitle(report)}`, report.groups.flatMap((group) => [
    { label: group.key, series: 'FPR', estimate: group.falsePositiveRate, colour: '#d9822b' },
    { label: group.key, series: 'FNR', estimate: group.falseNegativeRate, colour: '#6a9f58' },
  ]));
  const rows = report.groups.map((group) => `<tr${group.small ? ' class="small"' : ''}>${groupRow(group).map((cell) => `<td>${escape(cell)}</td>`).join('')}</tr>`).join('\n');
  const status = report.passesFourFifths ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
  return `<section>
<h2>By ${escape(attributeTitle(report))} ${status}</h2>
<table><thead><tr>${['Group', 'Count', 'Share', 'Selection rate', 'TPR', 'FPR', 'FNR', 'Precision', 'Impact ratio'].map((title) => `<th>${title}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table>
${report.smallGroups.length > 0 ? `<p class="note">* under ${percent(description.minGroupShare)} of records: reported, left out of the ratios and differences.</p>` : ''}
<ul>
<li>${escape(verdict(report))}</li>
<li>Demographic parity difference ${fixed(report.demographicParityDifference)}, ratio ${fixed(report.demographicParityRatio)}</li>
<li>Equalized odds difference ${fixed(report.equalizedOddsDifference)} (TPR gap ${fixed(report.truePositiveRateDifference)}, FPR gap ${fixed(report.falsePositiveRateDifference)})</li>
<li>Equal opportunity difference ${fixed(report.equalOpportunityDifference)}</li>
</ul>
<figure>${selection}</figure>
<figure>${errors}</figure>
</section>`;
}

/** One HTML page, no external resources: tables, verdicts, and SVG charts with interval whiskers. */
export function formatAuditHtml(audit: BiasAudit): string {
  const { description } = audit;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bias audit: ${escape(description.source)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:right}th:first-child,td:first-child{text-align:left}
tr.small td{color:#888}.pass{color:#1a7f37}.fail{color:#c00}.note{font-size:13px;color:#555}figure{margin:1em 0}
</style></head><body>
<h1>Bias audit: ${escape(description.source)} ${audit.passes ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>'}</h1>
<p>${description.records} records${description.filtered ? ` (${description.filtered} filtered out)` : ''}. Selected: <code>${escape(description.prediction)}</code>; outcome: <code>${escape(description.label ?? 'none')}</code>.
Rates with ${Math.round(description.confidence * 100)}% Wilson score intervals (whiskers).</p>
${audit.reports.map((report) => reportSection(report, description)).join('\n')}
</body></html>
`;
}
