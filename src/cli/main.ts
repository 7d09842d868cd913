// The `covenant` command line: one file per command group, assembled here.
import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './audit.js';
import { registerConfigCommands } from './config.js';
import { registerServeCommand } from './serve.js';
import { registerSpendCommands } from './spend.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('covenant')
    .description('Covenant: enforce, measure and prove what your AI contracts promise')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerConfigCommands(program);
  registerSpendCommands(program);
  registerAuditCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage mistakes exit 2 (commander already printed the message).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    throw error;
  }
}
