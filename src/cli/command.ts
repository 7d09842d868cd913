// What every CLI command shares: exit codes, InputError, injectable output, and where the store and config are.
import { existsSync, writeFileSync } from 'node:fs';
import { loadConfigFile, type LoadedConfig } from '../config/load.js';

/** 0 ok; 1 a check found a breach (drift, tampering, missing clause); 2 usage or input error. */
export const exitCodes = { ok: 0, breach: 1, input: 2 } as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** An error in what the user typed or pointed at: exit code 2 with this message. */
export class InputError extends Error {}

export interface CommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Environment variables (config path, admin keys); the process's by default. */
  environment: Record<string, string | undefined>;
}

/** Fill in the process's streams and environment for whatever a caller (a test) did not inject. */
export function commandOutput(output: Partial<CommandOutput> = {}): CommandOutput {
  return {
    stdout: output.stdout ?? ((text) => process.stdout.write(text)),
    stderr: output.stderr ?? ((text) => process.stderr.write(text)),
    environment: output.environment ?? process.env,
  };
}

/**
 * Run a command's action and set process.exitCode from its result instead of exiting, so tests can run it.
 * Every error is an input error (exit 2), printed as `covenant <name>: <message>`.
 * @example .action((options) => runCommand(output, 'spend', async () => { …; return exitCodes.ok; }))
 */
export async function runCommand(output: CommandOutput, name: string, action: () => Promise<ExitCode>): Promise<void> {
  try {
    process.exitCode = await action();
  } catch (error) {
    output.stderr(`covenant ${name}: ${(error as Error).message}\n`);
    process.exitCode = exitCodes.input;
  }
}

export const defaultDataPath = '.covenant/covenant.db';

/** The config file a command reads: `--config`, else COVENANT_CONFIG; undefined when neither is set. */
export function configFile(option: string | undefined, environment: Record<string, string | undefined>): string | undefined {
  return option ?? (environment.COVENANT_CONFIG || undefined);
}

/** Load and validate a config file (no secrets needed); its problems become an input error with file, line and column. */
export function readConfig(file: string): LoadedConfig {
  try {
    return loadConfigFile(file);
  } catch (error) {
    throw new InputError(`the config has errors:\n${(error as Error).message}`);
  }
}

/** Where a config keeps its store: a SQLite file path, or a postgres:// URL. */
export function storeOf(config: LoadedConfig): string {
  const store = config.raw.store;
  return store.startsWith('sqlite:') ? store.slice('sqlite:'.length) : store;
}

/**
 * The store a command reads: `--data`, else the config's `store` (`--config` or COVENANT_CONFIG), else the default file.
 * Naming both `--data` and `--config` is ambiguous, so it is an input error.
 */
export function storeLocation(options: { data?: string; config?: string }, environment: Record<string, string | undefined>): string {
  if (options.data !== undefined && options.config !== undefined) throw new InputError('pass --data or --config, not both');
  if (options.data !== undefined) return options.data;
  const file = configFile(options.config, environment);
  if (file === undefined) return defaultDataPath;
  if (!existsSync(file)) throw new InputError(`no config file at ${file}`);
  return storeOf(readConfig(file));
}

/** A command's document: into `--out FILE` (saying so on stderr), else onto stdout. */
export function emitDocument(output: CommandOutput, text: string, out: string | undefined): void {
  if (out) {
    writeFileSync(out, text);
    output.stderr(`wrote ${out}\n`);
  } else {
    output.stdout(text);
  }
}
