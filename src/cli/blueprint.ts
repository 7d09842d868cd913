// `covenant blueprint show|apply`: a blueprint (A–E) as concrete settings and required clauses, recorded on a system and written into the config.
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseConfigText } from '../config/load.js';
import { blueprint, blueprintIds, isBlueprintId, systemsEntry, type Blueprint } from '../sourcing/blueprints.js';
import type { BlueprintId } from '../sourcing/clause-ids.js';
import { fragmentYaml, writeFragment, type Fragment } from '../sourcing/config-fragment.js';
import { commandOutput, exitCodes, InputError, runCommand, type CommandOutput, type ExitCode } from './command.js';
import { connectGateway, gatewayOptions, type GatewayClientOptions } from './gateway-client.js';

interface ApplyOptions extends GatewayClientOptions {
  system?: string;
  json?: boolean;
}

function blueprintArgument(text: string): BlueprintId {
  const id = text.trim().toUpperCase();
  if (!isBlueprintId(id)) throw new InputError(`unknown blueprint "${text}" (one of ${blueprintIds.join(', ')})`);
  return id;
}

export function formatBlueprint(pack: Blueprint): string {
  const lines = [
    `Blueprint ${pack.id}: ${pack.title} (${pack.strategy})`, pack.summary, `Workload: ${pack.workload}`, '', 'Settings:',
    ...pack.settings.map((setting) => `  - ${setting.setting}: ${setting.value} (${setting.why})`), '',
    `Contract clauses required: ${pack.clauses.join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function runShow(text: string, options: { json?: boolean }, output: CommandOutput): Promise<ExitCode> {
  const pack = blueprint(blueprintArgument(text));
  const example = systemsEntry(pack.id, { name: 'example-system', department: 'example-department' });
  const fragment: Fragment = { system: example as Fragment['system'], department: pack.department };
  output.stdout(options.json ? `${JSON.stringify({ ...pack, systems_entry: example }, null, 2)}\n`
    : `${formatBlueprint(pack)}\nConfig fragment (for a system named example-system):\n${fragmentYaml(fragment)}`);
  return exitCodes.ok;
}

async function runApply(text: string, options: ApplyOptions, output: CommandOutput): Promise<ExitCode> {
  const id = blueprintArgument(text);
  if (!options.system) throw new InputError('--system is required: the inventory system to apply the blueprint to');
  const client = connectGateway(options, output.environment);
  const applied = await client.post<{ blueprint: Blueprint; systems_entry: Fragment['system'] }>(
    `/admin/inventory/systems/${encodeURIComponent(options.system)}/blueprint`, { blueprint: id });
  const fragment: Fragment = { system: applied.systems_entry, department: applied.blueprint.department };
  let written: string[] = [];
  let skipped: string[] = [];
  // --config names the config the gateway runs with: the fragment goes into it, but only if it still validates afterwards.
  const file = options.config;
  if (file !== undefined) {
    const result = writeFragment(readFileSync(file, 'utf8'), fragment);
    try {
      parseConfigText(result.text, file);
    } catch (error) {
      throw new InputError(`the config would not validate with the fragment, so ${file} is unchanged:\n${(error as Error).message}`);
    }
    if (result.written.length > 0) writeFileSync(file, result.text);
    ({ written, skipped } = result);
  }
  if (options.json) {
    output.stdout(`${JSON.stringify({ system: options.system, blueprint: applied.blueprint, systems_entry: applied.systems_entry, department: applied.blueprint.department, config: file ?? null, written, skipped }, null, 2)}\n`);
    return exitCodes.ok;
  }
  const notes = [
    ...written.map((path) => `wrote ${path} into ${file}`),
    ...skipped.map((reason) => `not written: ${reason}`),
  ];
  output.stdout(`${formatBlueprint(applied.blueprint)}\nRecorded blueprint ${id} on ${options.system} (ledger: blueprint.applied).\n\nConfig fragment:\n${fragmentYaml(fragment)}`
    + (notes.length > 0 ? `\n${notes.join('\n')}\n` : file === undefined ? '\nPass --config FILE to write it into the gateway\'s config.\n' : ''));
  return exitCodes.ok;
}

export function registerBlueprintCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const group = program.command('blueprint').description('blueprint policy packs A–E: settings, config and required contract clauses');
  group.command('show <blueprint>').description('a blueprint\'s settings, config fragment and required clauses')
    .option('--json', 'print JSON')
    .action((id: string, options: { json?: boolean }) => runCommand(write, 'blueprint show', () => runShow(id, options, write)));
  gatewayOptions(group.command('apply <blueprint>').description('record a blueprint on a system and print (or, with --config, write) its config'))
    .option('--system <name>', 'the inventory system')
    .option('--json', 'print JSON')
    .action((id: string, options: ApplyOptions) => runCommand(write, 'blueprint apply', () => runApply(id, options, write)));
}
