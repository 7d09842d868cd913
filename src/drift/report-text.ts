// A golden run's report as text for a terminal, and as JUnit XML for CI systems.
import type { Check, DriftReport } from './compare.js';

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

function observedText(check: Check): string {
  switch (check.name) {
    case 'similarity': return check.observed.toFixed(4);
    case 'length_distribution': return `p = ${check.observed.toFixed(4)}`;
    default: return percent(check.observed);
  }
}

/** The verdict, one line per threshold (pass or BREACH, with the items that breached), the measures and the cost. */
export function formatTextReport(report: DriftReport, costText: string): string {
  const metrics = report.metrics;
  const lines = [
    `Drift run of ${report.model}${report.requested_version ? ` version ${report.requested_version}` : ''} on ${report.suite.file} (${report.suite.items} items)`,
    `Verdict: ${report.verdict === 'pass' ? 'PASS' : 'MATERIAL DRIFT'}`,
    '',
  ];
  for (const check of report.checks) {
    const items = check.breached_items.length > 0 && !check.pass ? ` — items: ${check.breached_items.join(', ')}` : '';
    lines.push(`  ${check.pass ? 'pass  ' : 'BREACH'}  ${check.name.padEnd(20)} ${observedText(check).padEnd(12)} ${check.rule} [${report.thresholds.sources[sourceKey(check.name)]}]${items}`);
  }
  lines.push(
    '',
    `Similarity (${report.embedding.kind === 'lexical' ? 'lexical: built-in hashed n-gram embedding' : `embedding model ${report.embedding.alias}`}): mean ${metrics.similarity.mean.toFixed(4)}, min ${metrics.similarity.min.toFixed(4)}`,
    `Latency ms: median ${metrics.latency_ms.baseline.median.toFixed(1)} → ${metrics.latency_ms.candidate.median.toFixed(1)}, p95 ${metrics.latency_ms.baseline.p95.toFixed(1)} → ${metrics.latency_ms.candidate.p95.toFixed(1)}`,
    `Output tokens: median ${metrics.output_tokens.baseline.median} → ${metrics.output_tokens.candidate.median}, mean ${metrics.output_tokens.baseline.mean.toFixed(1)} → ${metrics.output_tokens.candidate.mean.toFixed(1)}`,
    `Length distribution: KL ${metrics.length_distribution.kl.toFixed(4)}, JS distance ${metrics.length_distribution.js_distance.toFixed(4)}, PSI ${metrics.length_distribution.psi.toFixed(4)}, p ${metrics.length_distribution.p_value.toFixed(4)}`,
    `Safety suite: ${metrics.safety.failures} of ${metrics.safety.items} failed`,
    `Versions seen: baseline ${report.baseline.versions_seen.join(', ') || '-'} (${report.baseline.fingerprints_seen.join(', ') || '-'}); now ${report.candidate.versions_seen.join(', ') || '-'} (${report.candidate.fingerprints_seen.join(', ') || '-'})`,
    `Cost of this run: $${costText}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Which threshold a check reads (its source is reported beside it). */
export function sourceKey(name: Check['name']): keyof DriftReport['thresholds']['sources'] {
  switch (name) {
    case 'similarity': return 'minSimilarity';
    case 'safety': return 'maxSafetyFailures';
    case 'length_distribution': return 'alpha';
    default: return 'maxVariance';
  }
}

/** XML 1.0 text and attribute escaping; characters XML forbids are dropped. */
export function escapeXml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}

/**
 * JUnit XML (the Ant/Jenkins schema CI systems read): one testcase per item (failed when it breached a failing
 * threshold) and one per threshold.
 */
export function formatJunitReport(report: DriftReport): string {
  const suiteName = `covenant drift ${report.model}`;
  const cases: string[] = [];
  for (const item of report.items) {
    const failure = item.breaches.length > 0
      ? `<failure message="${escapeXml(`breached ${item.breaches.join(', ')}`)}" type="drift">${escapeXml(
        `similarity ${item.similarity}; output tokens ${item.baseline_output_tokens.join('/')} → ${item.candidate_output_tokens}; latency ${item.candidate_latency_ms} ms`
        + `${item.safety ? `; safety ${item.safety}, refused ${item.refused}` : ''}\nbaseline: ${item.baseline_output}\ncandidate: ${item.candidate_output}`)}</failure>`
      : '';
    cases.push(`    <testcase classname="drift.items" name="${escapeXml(item.id)}" time="${(item.candidate_latency_ms / 1000).toFixed(3)}">${failure}</testcase>`);
  }
  for (const check of report.checks) {
    const failure = check.pass ? '' : `<failure message="${escapeXml(`${check.name}: observed ${check.observed}, ${check.rule}`)}" type="threshold">${escapeXml(
      check.breached_items.length > 0 ? `items: ${check.breached_items.join(', ')}` : '')}</failure>`;
    cases.push(`    <testcase classname="drift.thresholds" name="${escapeXml(check.name)}" time="0">${failure}</testcase>`);
  }
  const failures = report.items.filter((item) => item.breaches.length > 0).length + report.checks.filter((check) => !check.pass).length;
  const tests = report.items.length + report.checks.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suiteName)}" tests="${tests}" failures="${failures}" errors="0">`,
    `  <testsuite name="${escapeXml(suiteName)}" tests="${tests}" failures="${failures}" errors="0" skipped="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
