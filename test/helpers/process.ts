// Test helper: run the real `covenant` CLI as child processes (async only, so fakes in the test process keep serving).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const covenantBin = fileURLToPath(new URL('../../bin/covenant', import.meta.url));

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeProcess {
  /** Base URL from the `covenant listening on …` line. */
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited (and its pipes closed). */
  exited: Promise<ProcessExit>;
  /** Send a signal (SIGKILL by default) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ProcessExit>;
}

export interface ServeOptions {
  config: string;
  environment?: Record<string, string>;
  cwd?: string;
  /** Give up waiting for the listening line after this long (default 20 s). */
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();

/** Start `covenant serve --config FILE --port 0` and resolve once it prints its listening line. */
export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const child = spawn(process.execPath, [covenantBin, 'serve', '--config', options.config, '--port', '0'], {
    cwd: options.cwd, env: { ...process.env, ...options.environment }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`covenant serve printed no listening line within ${options.timeoutMs ?? 20_000} ms:\n${output}`)), options.timeoutMs ?? 20_000);
    const look = (data: Buffer) => {
      output += data.toString();
      const match = /covenant listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`covenant serve exited early (${exit.signal ?? exit.code}):\n${output}`));
    });
  }).catch(async (error: unknown) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  });
  return {
    url,
    child,
    output: () => output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** SIGKILL every process this helper started that is still running, and wait for them (for afterEach). */
export async function killStarted(): Promise<void> {
  const waits = [...running].map((child) => new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.kill('SIGKILL');
  }));
  await Promise.all(waits);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run one `covenant …` command to completion, without blocking the event loop. */
export function runCovenant(args: string[], options: { cwd?: string; environment?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [covenantBin, ...args], {
      cwd: options.cwd, env: { ...process.env, ...options.environment }, maxBuffer: 256 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
