// The `covenant` command line: one file per command group, assembled here.
import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './audit.js';
import { registerBiasCommands } from './bias.js';
import { commandOutput, exitCodes, type CommandOutput } from './command.js';
import { registerConfigCommands } from './config.js';
import { registerExplainCommand } from './explain.js';
import { registerModelCommands } from './models.js';
import { registerDriftCommands } from './drift.js';
import { registerProviderCommands } from './providers.js';
import { registerServeCommand } from './serve.js';
import { registerSessionCommands } from './sessions.js';
import { registerReviewCommands } from './reviews.js';
import { registerSystemCommands } from './systems.js';
import { registerSpendCommands } from './spend.js';
import { registerInventoryCommands } from './inventory.js';
import { registerSourcingCommands } from './sourcing.js';
import { registerBlueprintCommands } from './blueprint.js';
import { registerVendorCommands } from './vendors.js';
import { registerReportCommands } from './report.js';
import { registerContractCommands } from './contract.js';
import { registerWeightsCommands } from './weights.js';
import { registerAlertCommands } from './alerts.js';

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
  registerInventoryCommands(program, write);
  registerSourcingCommands(program, write);
  registerBlueprintCommands(program, write);
  registerVendorCommands(program, write);
  registerReportCommands(program, write);
  registerBiasCommands(program, write);
  registerExplainCommand(program, write);
  registerReviewCommands(program, write);
  registerSystemCommands(program, write);
  registerModelCommands(program, write);
  registerDriftCommands(program, write);
  registerContractCommands(program, write);
  registerWeightsCommands(program, write);
  registerAlertCommands(program, write);
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
