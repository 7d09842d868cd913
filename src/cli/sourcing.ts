// `covenant sourcing decide`: Build / Partner / Buy / Invest from three questions (asked in a terminal, or as flags or JSON), optionally recorded on a system.
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { parseYesNo, sourcingGuidance, type SourcingAnswers, type SourcingGuidance } from '../sourcing/decision.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface DecideOptions extends GatewayClientOptions {
  differentiator?: string;
  dataMoat?: string;
  speedPriority?: string;
  input?: string;
  system?: string;
  json?: boolean;
}

const prompts: { field: keyof SourcingAnswers; flag: string; question: string }[] = [
  { field: 'differentiator', flag: '--differentiator', question: 'Is this capability a competitive differentiator (not a commodity)?' },
  { field: 'data_moat', flag: '--data-moat', question: 'Do you hold proprietary data others cannot get (a data moat)?' },
  { field: 'speed_priority', flag: '--speed-priority', question: 'Does speed to market matter more than control?' },
];

/** Answers from --input JSON, else the flags, else (in a terminal) questions; an answer still missing is an input error. */
export async function collectAnswers(options: DecideOptions, ask?: (question: string) => Promise<string>): Promise<SourcingAnswers> {
  const given: Partial<Record<keyof SourcingAnswers, unknown>> = {};
  if (options.input !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.input);
    } catch {
      throw new InputError('--input is not valid JSON (e.g. {"differentiator": true, "data_moat": false, "speed_priority": true})');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputError('--input must be a JSON object');
    Object.assign(given, parsed);
  }
  if (options.differentiator !== undefined) given.differentiator = options.differentiator;
  if (options.dataMoat !== undefined) given.data_moat = options.dataMoat;
  if (options.speedPriority !== undefined) given.speed_priority = options.speedPriority;
  const answers: Partial<SourcingAnswers> = {};
  for (const prompt of prompts) {
    let value = given[prompt.field];
    while (value === undefined && ask) {
      const typed = await ask(`${prompt.question} [yes/no] `);
      if (parseYesNo(typed) !== undefined) value = typed;
    }
    if (value === undefined) throw new InputError(`answer ${prompt.flag} yes|no (or pass --input JSON, or run in a terminal to be asked)`);
    const parsed = parseYesNo(value);
    if (parsed === undefined) throw new InputError(`${prompt.flag} takes yes or no, not "${String(value)}"`);
    answers[prompt.field] = parsed;
  }
  return answers as SourcingAnswers;
}

export function formatGuidance(guidance: SourcingGuidance, system?: string): string {
  const lines = [
    `${guidance.strategy}${system ? ` for ${system}` : ''}: ${guidance.reason}`, '',
    'Operational focus:', ...guidance.operational_focus.map((line) => `  - ${line}`), '',
    'Trade-offs:', ...guidance.trade_offs.map((line) => `  - ${line}`), '',
    `Contract clauses: ${guidance.clauses.join(', ')}`, '',
    'Covenant policies:', ...guidance.policies.map((line) => `  - ${line}`),
  ];
  return `${lines.join('\n')}\n`;
}

async function runDecide(options: DecideOptions, output: CommandOutput): Promise<ExitCode> {
  const terminal = process.stdin.isTTY && process.stdout.isTTY;
  const readline = terminal ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  let answers: SourcingAnswers;
  try {
    answers = await collectAnswers(options, readline && ((question) => readline.question(question)));
  } finally {
    readline?.close();
  }
  if (options.system === undefined) {
    const guidance = sourcingGuidance(answers);
    output.stdout(options.json ? `${JSON.stringify({ ...guidance, answers }, null, 2)}\n` : formatGuidance(guidance));
    return exitCodes.ok;
  }
  const client = connectGateway(options, output.environment);
  const recorded = await client.post<SourcingGuidance & { decision_id: number; decided_by: string }>(
    `/admin/inventory/systems/${encodeURIComponent(options.system)}/decisions`, answers);
  output.stdout(options.json ? `${JSON.stringify(recorded, null, 2)}\n`
    : `${formatGuidance(recorded, options.system)}\nRecorded as decision ${recorded.decision_id} on ${options.system} by ${recorded.decided_by} (ledger: sourcing.decided).\n`);
  return exitCodes.ok;
}

export function registerSourcingCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const sourcing = program.command('sourcing').description('sourcing decisions: Build, Partner, Buy or Invest');
  gatewayOptions(sourcing.command('decide').description('decide a strategy from three questions (asked when run in a terminal)'))
    .option('--differentiator <yes|no>', 'is the capability a competitive differentiator?')
    .option('--data-moat <yes|no>', 'do you hold proprietary data others cannot get?')
    .option('--speed-priority <yes|no>', 'does speed to market matter more than control?')
    .option('--input <json>', 'the answers as JSON: {"differentiator": true, "data_moat": false, "speed_priority": true}')
    .option('--system <name>', 'record the decision on this inventory system (ledger: sourcing.decided)')
    .option('--json', 'print JSON')
    .action((options: DecideOptions) => runCommand(write, 'sourcing decide', () => runDecide(options, write)));
}
