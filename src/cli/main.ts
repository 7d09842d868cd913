// The `covenant` command line: one file per command group, assembled here.
import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './audit.js';
import { commandOutput, exitCodes, type CommandOutput } from './command.js';
import { registerConfigCommands } from './config.js';
import { registerProviderCommands } from './providers.js';
import { registerServeCommand } from './serve.js';
import { registerSessionCommands } from './sessions.js';
import { registerSpendCommands } from './spend.js';
import { registerContractCommands } from './contract.js';
import { registerWeightsCommands } from './weights.js';

/** The whole program; `output` (streams, environment) defaults to the process's, and tests inject their own. */
export function buildProgram(output: Partial<CommandOutput> = {}): Command {
  const write = commandOutput(output);
  const program = new Command();
  program
    .name('covenant')
    .description('Covenant: enforce, measure and prove what your AI contracts promise')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: write.stdout, writeErr: write.stderr })
    .exitOverride();
  registerServeCommand(program, write);
  registerConfigCommands(program, write);
  registerSpendCommands(program, write);
  registerAuditCommands(program, write);
  registerProviderCommands(program, write);
  registerSessionCommands(program, write);
  registerContractCommands(program, write);
  registerWeightsCommands(program, write);
  return program;
}

export async function main(argv: string[], output: Partial<CommandOutput> = {}): Promise<void> {
  const program = buildProgram(output);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage mistakes exit 2 (commander already printed the message).
      process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.input;
      return;
    }
    throw error;
  }
}
