// A golden run's report as one self-contained HTML file: inline CSS and SVG charts, no external assets or scripts.
import { sharedHistograms } from '../core/divergence.js';
import type { DriftReport } from './compare.js';
import { escapeXml } from './report-text.js';

const colours = { baseline: '#6b7280', candidate: '#2563eb', breach: '#dc2626' };

interface Series { label: string; colour: string; counts: number[] }

/** Grouped bars of counts over shared bins, labelled with the bins' lower edges. */
function barChart(title: string, edges: number[], series: Series[], unit: string): string {
  const width = 560;
  const height = 220;
  const left = 40;
  const bottom = 30;
  const plotWidth = width - left - 10;
  const plotHeight = height - bottom - 30;
  const bins = series[0]?.counts.length ?? 0;
  const top = Math.max(1, ...series.flatMap((entry) => entry.counts));
  const slot = bins === 0 ? plotWidth : plotWidth / bins;
  const barWidth = Math.max(1, (slot - 4) / Math.max(1, series.length));
  const bars: string[] = [];
  series.forEach((entry, seriesIndex) => {
    entry.counts.forEach((count, bin) => {
      const barHeight = (count / top) * plotHeight;
      const x = left + bin * slot + 2 + seriesIndex * barWidth;
      bars.push(`<rect x="${x.toFixed(1)}" y="${(30 + plotHeight - barHeight).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${barHeight.toFixed(1)}" fill="${entry.colour}"><title>${escapeXml(`${entry.label}: ${count}`)}</title></rect>`);
    });
  });
  const labels = edges.slice(0, bins).map((edge, bin) => `<text x="${(left + bin * slot + slot / 2).toFixed(1)}" y="${height - 12}" font-size="10" text-anchor="middle">${escapeXml(formatEdge(edge))}</text>`);
  const legend = series.map((entry, index) => `<rect x="${left + index * 130}" y="6" width="10" height="10" fill="${entry.colour}"/><text x="${left + 14 + index * 130}" y="15" font-size="11">${escapeXml(entry.label)}</text>`);
  return `<figure><figcaption>${escapeXml(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`
    + `<line x1="${left}" y1="${30 + plotHeight}" x2="${width - 10}" y2="${30 + plotHeight}" stroke="#9ca3af"/>`
    + `<text x="4" y="${30 + plotHeight / 2}" font-size="10">${top}</text>${legend.join('')}${bars.join('')}${labels.join('')}`
    + `<text x="${width - 10}" y="${height - 1}" font-size="10" text-anchor="end">${escapeXml(unit)}</text></svg></figure>`;
}

function formatEdge(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toFixed(2)).toString();
}

function beforeAfter(title: string, unit: string, before: number[], after: number[]): string {
  const histograms = sharedHistograms(before, after, 10);
  return barChart(title, histograms.edges, [
    { label: 'baseline', colour: colours.baseline, counts: histograms.baseline },
    { label: 'candidate', colour: colours.candidate, counts: histograms.candidate },
  ], unit);
}

/** The whole report: verdict, thresholds, charts (similarity distribution, latency and length before and after), items. */
export function formatHtmlReport(report: DriftReport, costText: string): string {
  const similarity = sharedHistograms(report.items.map((item) => item.similarity), [], 10);
  const similarityChart = barChart(`Similarity of each answer to the baseline (${report.embedding.kind === 'lexical' ? 'lexical' : report.embedding.alias})`,
    similarity.edges, [{ label: 'items', colour: report.checks[0]?.pass ? colours.candidate : colours.breach, counts: similarity.baseline }], 'cosine similarity');
  const latencyChart = beforeAfter('Latency before and after', 'ms', report.items.flatMap((item) => item.baseline_latency_ms), report.items.map((item) => item.candidate_latency_ms));
  const lengthChart = beforeAfter('Output length before and after', 'output tokens', report.items.flatMap((item) => item.baseline_output_tokens), report.items.map((item) => item.candidate_output_tokens));
  const checkRows = report.checks.map((check) => `<tr class="${check.pass ? 'pass' : 'breach'}"><td>${check.pass ? 'pass' : 'BREACH'}</td><td>${escapeXml(check.name)}</td>`
    + `<td>${check.observed}</td><td>${escapeXml(check.rule)}</td><td>${escapeXml(check.breached_items.join(', '))}</td></tr>`).join('\n');
  const itemRows = report.items.map((item) => `<tr class="${item.breaches.length > 0 ? 'breach' : 'pass'}"><td>${escapeXml(item.id)}</td><td>${item.similarity.toFixed(4)}</td>`
    + `<td>${item.baseline_output_tokens.join('/')} → ${item.candidate_output_tokens}</td><td>${item.candidate_latency_ms.toFixed(0)}</td>`
    + `<td>${item.safety ? `${escapeXml(item.safety)}${item.safety_failure ? ' (failed)' : ''}` : ''}</td><td>${escapeXml(item.breaches.join(', '))}</td>`
    + `<td><details><summary>answers</summary><p><b>baseline</b> ${escapeXml(item.baseline_output)}</p><p><b>candidate</b> ${escapeXml(item.candidate_output)}</p></details></td></tr>`).join('\n');
  const metrics = report.metrics;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Covenant drift report: ${escapeXml(report.model)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }
h1 { font-size: 1.4rem; } .verdict { font-size: 1.2rem; font-weight: bold; }
.verdict.pass { color: #15803d; } .verdict.material_drift { color: ${colours.breach}; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.breach td:first-child { color: ${colours.breach}; font-weight: bold; } figure { display: inline-block; margin: 0 1rem 1rem 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
</style>
</head>
<body>
<h1>Drift run of ${escapeXml(report.model)}${report.requested_version ? ` version ${escapeXml(report.requested_version)}` : ''}</h1>
<p class="verdict ${report.verdict}">${report.verdict === 'pass' ? 'PASS' : 'MATERIAL DRIFT'}</p>
<p>Suite ${escapeXml(report.suite.file)} (${report.suite.items} items, sha256 ${report.suite.sha256.slice(0, 12)}); baseline of ${escapeXml(report.baseline.created_at)}.
Versions seen: baseline ${escapeXml(report.baseline.versions_seen.join(', '))}, now ${escapeXml(report.candidate.versions_seen.join(', '))}. Cost of this run: $${escapeXml(costText)}.</p>
<table><thead><tr><th></th><th>threshold</th><th>observed</th><th>rule</th><th>items that breached</th></tr></thead><tbody>
${checkRows}
</tbody></table>
<p>Length distribution: KL ${metrics.length_distribution.kl}, JS distance ${metrics.length_distribution.js_distance}, PSI ${metrics.length_distribution.psi}, permutation p ${metrics.length_distribution.p_value}.
Latency median ${metrics.latency_ms.baseline.median} → ${metrics.latency_ms.candidate.median} ms, p95 ${metrics.latency_ms.baseline.p95} → ${metrics.latency_ms.candidate.p95} ms.</p>
${similarityChart}
${latencyChart}
${lengthChart}
<table><thead><tr><th>item</th><th>similarity</th><th>output tokens</th><th>latency ms</th><th>safety</th><th>breached</th><th></th></tr></thead><tbody>
${itemRows}
</tbody></table>
</body>
</html>
`;
}
