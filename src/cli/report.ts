// `covenant report system NAME`: the auditor's report of one AI system (Markdown, HTML, JSON) or its CycloneDX 1.6 ML-BOM.
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { systemMlBom } from '../sourcing/ml-bom.js';
import { reportHtml, reportMarkdown, type SystemReport } from '../sourcing/report.js';
import { commandOutput, emitDocument, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface ReportOptions extends GatewayClientOptions {
  format?: string;
  out?: string;
  json?: boolean;
}

const formats = ['md', 'html', 'json', 'cyclonedx'] as const;

async function runSystemReport(name: string, options: ReportOptions, output: CommandOutput): Promise<ExitCode> {
  const format = options.json ? 'json' : (options.format ?? 'md');
  if (!(formats as readonly string[]).includes(format)) throw new InputError(`--format must be one of ${formats.join(', ')}`);
  const client = connectGateway(options, output.environment);
  const report = await client.get<SystemReport>(`/admin/inventory/systems/${encodeURIComponent(name)}/report`);
  // Live spend comes from the gateway's own spend report for the system's department.
  try {
    const spend = await client.get<{ scopes: { scope: string; budgets: Record<string, unknown>[] }[] }>(
      `/admin/spend?scope=${encodeURIComponent(`department:${report.system.department}`)}`);
    report.live.spend = spend.scopes;
  } catch (error) {
    report.live.spend = { unavailable: (error as Error).message };
  }
  const text = format === 'json' ? `${JSON.stringify(report, null, 2)}\n`
    : format === 'html' ? reportHtml(report)
      : format === 'cyclonedx' ? systemMlBom(report, { serialNumber: `urn:uuid:${randomUUID()}` })
        : reportMarkdown(report);
  emitDocument(output, text, options.out);
  return exitCodes.ok;
}

export function registerReportCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const report = program.command('report').description('reports for auditors');
  gatewayOptions(report.command('system <name>').description('one AI system: inventory, strategy, vendors, blueprint, contract checks, live status'))
    .option('--format <format>', `${formats.join(', ')} (cyclonedx: a CycloneDX 1.6 ML-BOM with model cards)`, 'md')
    .option('--out <file>', 'write to a file')
    .option('--json', 'the same as --format json')
    .action((name: string, options: ReportOptions) => runCommand(write, 'report system', () => runSystemReport(name, options, write)));
}
