// The system report an auditor gets: inventory, strategy, vendors and their pre-qualification, blueprint, contract checks, live status; as Markdown or HTML.
import type { Blueprint } from './blueprints.js';

export interface SystemReport {
  generated_at: string;
  system: {
    name: string; owner: string; department: string; purpose?: string; blueprint?: string; strategy?: string; risk_tier: string; high_risk: boolean;
    regulatory: { eu_ai_act?: { tier: string; annex_iii_area?: string }; app_1_7?: { significant_effect: boolean; personal_information: boolean }; nyc_ll144_aedt?: boolean };
    required_clauses: string[];
    vendors: { name: string; layer: string; services: string[]; data_use: Record<string, unknown>; qualification: { score: number; passed: boolean; at: string; by: string } | null; exception: { reason: string; by: string; at: string } | null }[];
    models: { name: string; alias?: string; version?: string; vendor?: string; task?: string; description?: string }[];
    contracts: { name: string; parties: string[]; vendor?: string; start?: string; end?: string; clauses: Record<string, Record<string, unknown>> }[];
    decisions: { id: number; strategy: string; answers: Record<string, boolean>; by: string; at: string }[];
  };
  blueprint: (Blueprint & { systems_entry: Record<string, unknown> }) | null;
  /** Filled from the contract checker's store when the gateway has it wired; otherwise a marked empty slot. */
  contract_checks: { wired: boolean; data: unknown[]; note?: string };
  live: {
    models: { name: string; alias: string | null; recorded_version: string | null; gateway_version: string | null; provider: string | null; status: string }[];
    spend?: { scope: string; budgets: Record<string, unknown>[] }[] | { unavailable: string };
  };
}

const yesNo = (value: boolean | undefined) => (value === undefined ? '-' : value ? 'yes' : 'no');

function regulatoryLines(report: SystemReport): [string, string][] {
  const regulatory = report.system.regulatory;
  return [
    ['EU AI Act tier', regulatory.eu_ai_act ? `${regulatory.eu_ai_act.tier}${regulatory.eu_ai_act.annex_iii_area ? ` (Annex III: ${regulatory.eu_ai_act.annex_iii_area})` : ''}` : 'not assessed'],
    ['APP 1.7 automated decision', regulatory.app_1_7 ? `significant effect: ${yesNo(regulatory.app_1_7.significant_effect)}, personal information: ${yesNo(regulatory.app_1_7.personal_information)}` : 'not assessed'],
    ['NYC LL 144 AEDT', yesNo(regulatory.nyc_ll144_aedt)],
  ];
}

function spendLines(report: SystemReport): string[] {
  const spend = report.live.spend;
  if (spend === undefined) return ['not requested'];
  if ('unavailable' in spend) return [`unavailable: ${spend.unavailable}`];
  const lines = spend.flatMap((scope) => scope.budgets.map((budget) => {
    const amounts = Object.entries(budget).filter(([key]) => /^(spent|limit|remaining)/.test(key) && !key.endsWith('_micros')).map(([key, value]) => `${key} ${String(value)}`);
    return `${scope.scope} ${String(budget.period)} ${String(budget.window)}: ${amounts.join(', ')}`;
  }));
  return lines.length > 0 ? lines : ['no budgets configured for the department'];
}

function contractLines(report: SystemReport): string[] {
  if (!report.contract_checks.wired) return [`NOT WIRED: ${report.contract_checks.note ?? 'no contract checks available'}`];
  if (report.contract_checks.data.length === 0) return ['no contract checks recorded for this system'];
  return report.contract_checks.data.map((check) => JSON.stringify(check));
}

/** Markdown: one section per part, tables where rows repeat. */
export function reportMarkdown(report: SystemReport): string {
  const system = report.system;
  const out: string[] = [
    `# AI system report: ${system.name}`, '', `Generated ${report.generated_at}.`, '',
    '## Inventory', '', '| field | value |', '| --- | --- |',
    `| owner | ${system.owner} |`, `| department | ${system.department} |`, `| purpose | ${system.purpose ?? '-'} |`,
    `| risk tier | ${system.risk_tier}${system.high_risk ? ' (high-risk)' : ''} |`,
    ...regulatoryLines(report).map(([field, value]) => `| ${field} | ${value} |`), '',
    '## Sourcing strategy', '',
    system.strategy ? `**${system.strategy}**` : 'No decision recorded.', '',
    ...(system.decisions.length > 0 ? ['| decided | by | strategy | differentiator | data moat | speed priority |', '| --- | --- | --- | --- | --- | --- |',
      ...system.decisions.map((decision) => `| ${decision.at} | ${decision.by} | ${decision.strategy} | ${yesNo(decision.answers.differentiator)} | ${yesNo(decision.answers.data_moat)} | ${yesNo(decision.answers.speed_priority)} |`), ''] : []),
    '## Vendors and pre-qualification', '',
    ...(system.vendors.length === 0 ? ['No vendor linked.', ''] : ['| vendor | layer | score | result | exception |', '| --- | --- | --- | --- | --- |',
      ...system.vendors.map((vendor) => `| ${vendor.name} | ${vendor.layer} | ${vendor.qualification?.score ?? '-'} | ${vendor.qualification ? (vendor.qualification.passed ? 'pass' : 'FAIL') : 'not qualified'} | ${vendor.exception ? `${vendor.exception.reason} (granted by ${vendor.exception.by})` : '-'} |`), '']),
    '## Models', '',
    ...(report.live.models.length === 0 ? ['No model linked.', ''] : ['| model | alias | recorded version | gateway version | provider | status |', '| --- | --- | --- | --- | --- | --- |',
      ...report.live.models.map((model) => `| ${model.name} | ${model.alias ?? '-'} | ${model.recorded_version ?? '-'} | ${model.gateway_version ?? '-'} | ${model.provider ?? '-'} | ${model.status} |`), '']),
    '## Blueprint', '',
    ...(report.blueprint ? [`**${report.blueprint.id}: ${report.blueprint.title}**: ${report.blueprint.summary}`, '',
      ...report.blueprint.settings.map((setting) => `- ${setting.setting}: ${setting.value} (${setting.why})`), ''] : ['No blueprint applied.', '']),
    '## Contracts and required clauses', '',
    `Required clauses: ${system.required_clauses.length > 0 ? system.required_clauses.join(', ') : 'none'}.`, '',
    ...system.contracts.map((contract) => `- ${contract.name}: ${contract.parties.join(' / ')}, ${contract.start ?? '?'} to ${contract.end ?? '?'}; clauses on record: ${Object.keys(contract.clauses).join(', ') || 'none'}`),
    ...(system.contracts.length > 0 ? [''] : []),
    '### Contract checks', '', ...contractLines(report).map((line) => `- ${line}`), '',
    '## Live status', '', ...spendLines(report).map((line) => `- spend ${line}`), '',
  ];
  return `${out.join('\n')}`;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** HTML: the Markdown's content as a self-contained page (no scripts, no external assets). */
export function reportHtml(report: SystemReport): string {
  const body: string[] = [];
  let table: string[] | null = null;
  const flush = () => {
    if (table) body.push(`<table>${table.join('')}</table>`);
    table = null;
  };
  const inline = (text: string) => escape(text).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
  for (const line of reportMarkdown(report).split('\n')) {
    if (line.startsWith('|')) {
      if (/^\|( --- \|)+$/.test(line)) continue;
      const cells = line.slice(1, -1).split(' | ').map((cell) => cell.trim());
      const tag = table ? 'td' : 'th';
      table ??= [];
      table.push(`<tr>${cells.map((cell) => `<${tag}>${inline(cell)}</${tag}>`).join('')}</tr>`);
      continue;
    }
    flush();
    const heading = /^(#+) (.*)$/.exec(line);
    if (heading) body.push(`<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`);
    else if (line.startsWith('- ')) body.push(`<li>${inline(line.slice(2))}</li>`);
    else if (line.trim()) body.push(`<p>${inline(line)}</p>`);
  }
  flush();
  const style = 'body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>AI system report: ${escape(report.system.name)}</title><style>${style}</style></head>\n<body>\n${body.join('\n')}\n</body></html>\n`;
}
