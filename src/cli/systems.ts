// `covenant systems list|resume|performance|transparency`: AI systems under decision oversight on a running gateway (/admin/systems).
import type { Command } from 'commander';
import { transparencyMarkdown, type TransparencyReport } from '../decisions/transparency.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';
import { formatTable } from './table.js';

interface SystemLine {
  name: string; department: string; adm: string; status: 'active' | 'suspended'; pending_reviews: number;
  suspension: { reason: string; suspended_at: string } | null; open_breaches: { metric: string; model_version: string; value: number; threshold: number }[];
}

interface Estimate { value: number; lower: number; upper: number; successes: number; trials: number }
interface PerformanceAnswer {
  system: string; window: string;
  versions: { model_version: string; labelled: number; precision: Estimate | null; recall: Estimate | null; f1: number | null; accuracy: Estimate | null; hallucination_rate: Estimate | null }[];
  sla: { metric: string; model_version: string; value: number; threshold: number; breached: boolean }[];
}

interface JsonOption extends GatewayClientOptions { json?: boolean }
interface ResumeOptions extends JsonOption { reason?: string }
interface TransparencyOptions extends GatewayClientOptions { format?: string }

const estimateText = (estimate: Estimate | null) => (estimate === null ? '-' : `${estimate.value.toFixed(3)} [${estimate.lower.toFixed(3)}, ${estimate.upper.toFixed(3)}]`);

async function runList(options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  const { data } = await connectGateway(options, output.environment).get<{ data: SystemLine[] }>('/admin/systems');
  if (options.json) output.stdout(`${JSON.stringify(data, null, 2)}\n`);
  else if (data.length === 0) output.stdout('No system is configured (systems: in the config).\n');
  else {
    output.stdout(formatTable(['SYSTEM', 'DEPARTMENT', 'ADM', 'STATUS', 'PENDING REVIEWS', 'OPEN SLA BREACHES'], data.map((system) => [
      system.name, system.department, system.adm, system.status === 'suspended' ? `SUSPENDED: ${system.suspension?.reason}` : 'active',
      String(system.pending_reviews), system.open_breaches.map((breach) => `${breach.metric} ${breach.value.toFixed(3)} < ${breach.threshold} (${breach.model_version})`).join('; ') || '-',
    ])));
  }
  return exitCodes.ok;
}

async function runResume(name: string, options: ResumeOptions, output: CommandOutput): Promise<ExitCode> {
  const reason = options.reason?.trim();
  if (!reason) throw new InputError('--reason is required: say why automated scoring may resume');
  const record = await connectGateway(options, output.environment).post<{ system: string; reason: string; resume_reason: string }>(
    `/admin/systems/${encodeURIComponent(name)}/resume`, { reason });
  output.stdout(options.json ? `${JSON.stringify(record, null, 2)}\n` : `Resumed ${record.system} (suspended: ${record.reason}); reason: ${record.resume_reason}\n`);
  return exitCodes.ok;
}

async function runPerformance(name: string, options: JsonOption, output: CommandOutput): Promise<ExitCode> {
  const report = await connectGateway(options, output.environment).get<PerformanceAnswer>(`/admin/systems/${encodeURIComponent(name)}/performance`);
  if (options.json) {
    output.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    output.stdout(`${report.system}, last ${report.window} (95% Wilson intervals)\n`);
    output.stdout(formatTable(['MODEL VERSION', 'LABELLED', 'PRECISION', 'RECALL', 'F1', 'ACCURACY', 'HALLUCINATION RATE'], report.versions.map((version) => [
      version.model_version, String(version.labelled), estimateText(version.precision), estimateText(version.recall),
      version.f1 === null ? '-' : version.f1.toFixed(3), estimateText(version.accuracy), estimateText(version.hallucination_rate),
    ])));
    for (const reading of report.sla.filter((entry) => entry.breached)) {
      output.stdout(`BREACH: ${reading.metric} of ${reading.model_version} is ${reading.value.toFixed(3)} against ${reading.threshold}\n`);
    }
  }
  // A breached SLA is a finding: exit 1, as the other checks do.
  return report.sla.some((reading) => reading.breached) ? exitCodes.breach : exitCodes.ok;
}

async function runTransparency(name: string, options: TransparencyOptions, output: CommandOutput): Promise<ExitCode> {
  const format = options.format ?? 'md';
  if (format !== 'md' && format !== 'json') throw new InputError('--format must be md or json');
  const report = await connectGateway(options, output.environment).get<TransparencyReport>(`/admin/systems/${encodeURIComponent(name)}/transparency`);
  output.stdout(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : transparencyMarkdown(report));
  return exitCodes.ok;
}

export function registerSystemCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const systems = program.command('systems').description('AI systems under decision oversight (GET /admin/systems): suspension, performance, transparency');
  gatewayOptions(systems.command('list').description('each system\'s ADM class, status (suspended by the bias monitor?), pending reviews and open SLA breaches'))
    .option('--json', 'print the JSON list')
    .action((options: JsonOption) => runCommand(write, 'systems list', () => runList(options, write)));
  gatewayOptions(systems.command('resume <name>').description('lift a suspension of automated scoring (POST /admin/systems/:name/resume)'))
    .requiredOption('--reason <text>', 'why scoring may resume (recorded in the evidence ledger)')
    .option('--json', 'print the JSON record')
    .action((name: string, options: ResumeOptions) => runCommand(write, 'systems resume', () => runResume(name, options, write)));
  gatewayOptions(systems.command('performance <name>').description('precision, recall, F1, accuracy and hallucination rate per model version; exit 1 on an SLA breach'))
    .option('--json', 'print the JSON report')
    .action((name: string, options: JsonOption) => runCommand(write, 'systems performance', () => runPerformance(name, options, write)));
  gatewayOptions(systems.command('transparency <name>').description('the automated decision-making statement (APP 1.7–1.9, EU AI Act Art. 14 and 86)'))
    .option('--format <format>', 'md (default) or json')
    .action((name: string, options: TransparencyOptions) => runCommand(write, 'systems transparency', () => runTransparency(name, options, write)));
}
