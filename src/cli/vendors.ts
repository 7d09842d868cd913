// `covenant vendors questionnaire|qualify`: vendor pre-qualification per supply-chain layer, scored and stored (exit 1 when the vendor fails).
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { LineCounter, parseDocument } from 'yaml';
import { formatProblem, problemFromIssue } from '../config/load.js';
import { layerSchema, vendorLayers, type VendorLayer } from '../sourcing/inventory.js';
import { answersFileSchema, passScore, questionnaire, type Answer, type QualificationResult } from '../sourcing/qualification.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface QualifyOptions extends GatewayClientOptions {
  answers?: string;
  layer?: string;
  json?: boolean;
}

function layerOption(text: string | undefined): VendorLayer | undefined {
  if (text === undefined) return undefined;
  const parsed = layerSchema.safeParse(text);
  if (!parsed.success) throw new InputError(`--layer must be one of ${vendorLayers.join(', ')}`);
  return parsed.data;
}

/** A YAML answers file to fill in: every question of the layer, answered "no" until someone says otherwise. */
export function questionnaireTemplate(layer: VendorLayer): string {
  const lines = [`# Covenant vendor pre-qualification: ${layer}. Answer yes, partial or no; link evidence (a URL or document reference).`,
    `# Pass: score ≥ ${passScore} and every question marked CRITICAL answered yes with evidence.`, `layer: ${layer}`, 'answers:'];
  for (const question of questionnaire(layer)) {
    lines.push(`  # ${question.critical.includes(layer) ? 'CRITICAL · ' : ''}weight ${question.weights[layer]} · ${question.topic}: ${question.text}`);
    lines.push(`  ${question.id}: { answer: no, evidence: "" }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Read an answers file; each problem is reported as file:line:column. */
function readAnswers(file: string): { layer?: VendorLayer; answers: Record<string, Answer> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const position = lineCounter.linePos(document.errors[0]!.pos[0]);
    throw new InputError(`${file}:${position.line}:${position.col}: ${document.errors[0]!.message.split('\n')[0]}`);
  }
  const data = document.toJS() as unknown;
  // An empty evidence string (as the template writes it) means none.
  const answers = (data as { answers?: Record<string, { evidence?: string }> } | null)?.answers;
  for (const answer of Object.values(answers ?? {})) if (answer && answer.evidence === '') delete answer.evidence;
  const result = answersFileSchema.safeParse(data);
  if (!result.success) throw new InputError(result.error.issues.map((issue) => formatProblem(problemFromIssue(issue, document, lineCounter, file))).join('\n'));
  return result.data;
}

async function askAnswers(layer: VendorLayer): Promise<Record<string, Answer>> {
  const readline = createInterface({ input: process.stdin, output: process.stdout });
  const answers: Record<string, Answer> = {};
  try {
    for (const question of questionnaire(layer)) {
      let answer = '';
      while (!['yes', 'partial', 'no'].includes(answer)) answer = (await readline.question(`${question.text} [yes/partial/no] `)).trim().toLowerCase();
      const evidence = (await readline.question('  evidence link (empty for none): ')).trim();
      answers[question.id] = { answer: answer as Answer['answer'], ...(evidence ? { evidence } : {}) };
    }
  } finally {
    readline.close();
  }
  return answers;
}

export function formatQualification(vendor: string, result: QualificationResult): string {
  const rows = result.questions.map((question) => `  ${question.critical ? '!' : ' '} ${question.id.padEnd(20)} ${question.answer.padEnd(10)} weight ${question.weight}  credit ${question.credit}${question.evidence ? `  ${question.evidence}` : ''}`);
  const verdict = result.passed ? `PASS: ${vendor} scored ${result.score} (pass mark ${passScore})` : `FAIL: ${vendor} scored ${result.score}: ${result.reasons.join('; ')}`;
  return `${verdict}\nLayer: ${result.layer} (! = critical)\n${rows.join('\n')}\n`;
}

async function runQualify(vendor: string, options: QualifyOptions, output: CommandOutput): Promise<ExitCode> {
  let layer = layerOption(options.layer);
  const client = connectGateway(options, output.environment);
  let answers: Record<string, Answer>;
  if (options.answers !== undefined) {
    const file = readAnswers(options.answers);
    layer ??= file.layer;
    answers = file.answers;
  } else if (process.stdin.isTTY && process.stdout.isTTY) {
    layer ??= (await client.get<{ layer: VendorLayer }>(`/admin/inventory/vendors/${encodeURIComponent(vendor)}`)).layer;
    answers = await askAnswers(layer);
  } else {
    throw new InputError('--answers FILE.yaml is required when not run in a terminal (covenant vendors questionnaire --layer L prints one to fill in)');
  }
  const result = await client.post<QualificationResult & { id: number }>(`/admin/inventory/vendors/${encodeURIComponent(vendor)}/qualifications`,
    { answers, ...(layer ? { layer } : {}) });
  output.stdout(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatQualification(vendor, result));
  return result.passed ? exitCodes.ok : exitCodes.breach;
}

export function registerVendorCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const vendors = program.command('vendors').description('vendor pre-qualification: questionnaire per supply-chain layer, score and pass/fail gate');
  vendors.command('questionnaire').description('print a layer\'s questionnaire as an answers file to fill in')
    .requiredOption('--layer <layer>', vendorLayers.join(', '))
    .option('--json', 'print the questions as JSON')
    .action((options: { layer: string; json?: boolean }) => runCommand(write, 'vendors questionnaire', async () => {
      const layer = layerOption(options.layer)!;
      write.stdout(options.json ? `${JSON.stringify(questionnaire(layer).map((question) => ({ ...question, weight: question.weights[layer], critical: question.critical.includes(layer) })), null, 2)}\n`
        : questionnaireTemplate(layer));
      return exitCodes.ok;
    }));
  gatewayOptions(vendors.command('qualify <vendor>').description('score a vendor\'s answers and store the result (exit 1 when it fails)'))
    .option('--answers <file>', 'the answers as YAML (see covenant vendors questionnaire); asked in a terminal without it')
    .option('--layer <layer>', 'the layer to qualify for (default: the answers file\'s, else the vendor\'s)')
    .option('--json', 'print JSON')
    .action((vendor: string, options: QualifyOptions) => runCommand(write, 'vendors qualify', () => runQualify(vendor, options, write)));
}
