// Child processes of the benchmark: start one and wait for its "listening on URL" line, stop it, and never leave one behind.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const children = new Set();
const exitHooks = [];

/** Kill every child still running (synchronous, so it also works from process.on('exit')). */
export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const hook of exitHooks.splice(0)) {
    try {
      hook();
    } catch {
      // cleanup is best effort
    }
  }
}

/** Run `hook` (synchronously) when the benchmark exits, however it exits. */
export function onExit(hook) {
  exitHooks.push(hook);
}

let installed = false;
/** Ctrl-C, SIGTERM, an uncaught error or a normal exit: all end with every child killed. */
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping the child processes\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    killAll();
    process.exit(1);
  });
}

/** Track a child so that it is killed on exit. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Start `node ...args` and resolve with {child, url} once it prints a line with "listening on http://…".
 * @param {string} name         for messages
 * @param {string[]} args       arguments after the node executable (node flags first)
 * @param {{environment?: Record<string,string>, cpus?: string, timeoutMs?: number}} options
 */
export function startServer(name, args, options = {}) {
  const command = options.cpus ? 'taskset' : process.execPath;
  const commandArgs = options.cpus ? ['-c', options.cpus, process.execPath, ...args] : args;
  const child = track(spawn(command, commandArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.environment },
  }));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000);
    const fail = (error) => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- ${name} output ---\n${output.slice(-2000)}`));
    };
    const onData = (chunk) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout.resume();
        resolve({ child, url: match[1], output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => {
      output += chunk.toString();
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready`)));
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves when it is gone. */
export function stopProcess(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const ticksPerSecond = 100; // USER_HZ: 100 on every Linux build that matters (sysconf(_SC_CLK_TCK))

/** CPU seconds (user + system, all threads) a process has used so far; undefined where /proc is missing. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name: utime is field 14, stime 15 (proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds a process's main thread (the event loop: what sets a Node server's throughput) has run so far, to the
 * nanosecond (/proc/PID/schedstat); undefined where /proc is missing.
 */
export function mainThreadSeconds(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return undefined;
  }
}

/** The whole machine's busy CPU seconds so far (all cores, from /proc/stat); undefined where /proc is missing. */
export function machineBusySeconds() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: busy is everything but idle and iowait.
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return (total - fields[3] - fields[4]) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** How many write-family system calls (socket and file) a process has made so far; undefined where /proc is missing. */
export function writeSyscalls(pid) {
  try {
    const match = /^syscw:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
