// `covenant serve`: run the gateway until SIGTERM/SIGINT (graceful), reloading the config on SIGHUP.
import type { Command } from 'commander';
import { startApp } from '../gateway/app.js';
import { applyHeapGrowth } from './heap-growth.js';
import { ConfigError } from '../config/load.js';
import { demoAdminKey, demoUserKey } from '../config/demo.js';
import { commandOutput, configFile as configFileOf, exitCodes, type CommandOutput } from './command.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a whole number from 0 to 65535, not "${value}"`);
  return port;
}

export function registerServeCommand(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  program
    .command('serve')
    .description('run the gateway (without a config: the demo setup on the mock provider)')
    .option('-c, --config <path>', 'config file (env COVENANT_CONFIG)')
    .option('-p, --port <port>', 'port to listen on (env COVENANT_PORT)')
    .option('--host <host>', 'address to listen on')
    .action(async (options: { config?: string; port?: string; host?: string }) => {
      const configFile = configFileOf(options.config, write.environment);
      const portText = options.port ?? write.environment.COVENANT_PORT;
      let port: number | undefined;
      try {
        port = portText === undefined || portText === '' ? undefined : parsePort(portText);
        applyHeapGrowth(write.environment);
      } catch (error) {
        write.stderr(`covenant: ${(error as Error).message}\n`);
        process.exitCode = exitCodes.input;
        return;
      }
      let app;
      try {
        app = await startApp({ configFile, port, host: options.host, logger: true, environment: write.environment });
      } catch (error) {
        if (error instanceof ConfigError) {
          write.stderr(`covenant: the config has errors:\n${error.message}\n`);
        } else {
          write.stderr(`covenant: cannot start: ${(error as Error).message}\n`);
        }
        process.exitCode = exitCodes.input;
        return;
      }
      // The handlers are in place before the listening line: a supervisor that signals as soon as it reads the line
      // (a reload right after start) must not meet Node's default, which ends the process.
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        write.stdout(`covenant: ${signal} received, finishing in-flight requests\n`);
        app.close().then(() => {
          write.stdout('covenant: stopped\n');
          process.exit(0);
        }, (error: Error) => {
          write.stderr(`covenant: error while stopping: ${error.message}\n`);
          process.exit(1);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        app.reload('SIGHUP').then(
          (summary) => write.stdout(`covenant: config reloaded (${JSON.stringify(summary)})\n`),
          (error: Error) => write.stderr(`covenant: reload failed, keeping the running config:\n${error.message}\n`),
        );
      });
      for (const warning of app.config.warnings) write.stderr(`covenant: warning: ${warning}\n`);
      if (!configFile) {
        write.stdout([
          'covenant: no config file given, running the demo (mock provider, models "demo" and "demo-embed")',
          `covenant: demo key:  ${demoUserKey}`,
          `covenant: admin key: ${demoAdminKey}`,
          '',
        ].join('\n'));
      }
      write.stdout(`covenant listening on ${app.url}\n`);
      write.stdout(`covenant: console: ${app.url}/ui (sign in with an admin key)\n`);
    });
}
