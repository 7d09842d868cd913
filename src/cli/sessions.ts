// `covenant sessions list|resume`: the gateway's suspended agent sessions (GET /admin/sessions) and their resumption by a person.
import type { Command } from 'commander';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

/** A suspension as GET /admin/sessions lists it (sessions/breaker.ts suspensionPayload). */
export interface SessionLine {
  session: string;
  label: string | null;
  department: string;
  key: string;
  policy: string;
  count: number;
  limit: number;
  message: string;
  steps: number;
  spent_usd: string;
  suspended_at: string;
  status: 'suspended' | 'resumed';
  resumed_by: string | null;
  reason: string | null;
}

interface ListOptions extends GatewayClientOptions {
  all?: boolean;
  json?: boolean;
}

interface ResumeOptions extends GatewayClientOptions {
  reason?: string;
  json?: boolean;
}

/** Columns padded to their widest cell. */
export function formatSessionTable(sessions: readonly SessionLine[]): string {
  if (sessions.length === 0) return 'No agent session is suspended.\n';
  const header = ['SESSION', 'HEADER', 'DEPARTMENT', 'KEY', 'POLICY', 'COUNT', 'LIMIT', 'STEPS', 'SPENT', 'SUSPENDED AT', 'STATUS'];
  const rows = sessions.map((line) => [
    line.session, line.label ?? '-', line.department, line.key, line.policy, String(line.count), String(line.limit),
    String(line.steps), `$${line.spent_usd}`, line.suspended_at, line.status === 'resumed' ? `resumed by ${line.resumed_by}` : 'suspended',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const render = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return `${[render(header), ...rows.map(render)].join('\n')}\n`;
}

async function runList(options: ListOptions, output: CommandOutput): Promise<ExitCode> {
  const client = connectGateway(options, output.environment);
  const { data } = await client.get<{ data: SessionLine[] }>(`/admin/sessions${options.all ? '?all=true' : ''}`);
  output.stdout(options.json ? `${JSON.stringify(data, null, 2)}\n` : formatSessionTable(data));
  return exitCodes.ok;
}

async function runResume(id: string, options: ResumeOptions, output: CommandOutput): Promise<ExitCode> {
  const reason = options.reason?.trim();
  if (!reason) throw new InputError('--reason is required: say why this session may run again');
  const client = connectGateway(options, output.environment);
  const record = await client.post<SessionLine>(`/admin/sessions/${encodeURIComponent(id)}/resume`, { reason });
  output.stdout(options.json ? `${JSON.stringify(record, null, 2)}\n` : `Resumed ${record.session} (suspended by ${record.policy}); reason: ${record.reason}\n`);
  return exitCodes.ok;
}

export function registerSessionCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const sessions = program.command('sessions').description('agent sessions the loop breaker suspended (GET /admin/sessions)');
  gatewayOptions(sessions
    .command('list')
    .description('list suspended agent sessions'))
    .option('--all', 'resumed ones too')
    .option('--json', 'print the JSON list')
    .action((options: ListOptions) => runCommand(write, 'sessions list', () => runList(options, write)));
  gatewayOptions(sessions
    .command('resume <id>')
    .description('resume a suspended session (POST /admin/sessions/:id/resume); its counters start over'))
    .requiredOption('--reason <text>', 'why it may run again (recorded in the evidence ledger)')
    .option('--json', 'print the JSON record')
    .action((id: string, options: ResumeOptions) => runCommand(write, 'sessions resume', () => runResume(id, options, write)));
}
