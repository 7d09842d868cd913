// `covenant config check`: validate a config file; a one-screen summary (exit 0) or precise problems (exit 2).
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, parseConfigText } from '../config/load.js';
import { commandOutput, configFile, exitCodes, runCommand, type CommandOutput } from './command.js';
import { keyPolicyName, resolveConfig, type ResolvedConfig, type ResolvedLimits, type ResolvedRateLimit } from '../config/resolve.js';
import { demoConfigText, demoEnvironment } from '../config/demo.js';
import { formatMicros } from '../core/money.js';
import type { BudgetConfig } from '../config/schema.js';
import { configContractWarnings } from '../models/policy.js';

function budgetText(budgets: BudgetConfig[]): string {
  return budgets.map((budget) => (budget.usd !== undefined ? `$${budget.usd}/${budget.period}` : `${budget.tokens} tokens/${budget.period}`)).join(', ') || 'none';
}

function rateText(limit: ResolvedRateLimit): string {
  return [limit.rpm && `rpm ${limit.rpm}`, limit.tpm && `tpm ${limit.tpm}`, limit.concurrent && `concurrent ${limit.concurrent}`].filter(Boolean).join(' ');
}

function limitsText(limits: ResolvedLimits): string {
  return [limits.maxPromptTokens !== null && `max_prompt_tokens ${limits.maxPromptTokens}`, limits.maxRequestMicros !== null && `max_request_usd ${formatMicros(limits.maxRequestMicros)}`].filter(Boolean).join(' ');
}

/** A department's guards and its keys' in one line, or '' when it has none (the summary stays as it was). */
function guardsText(config: ResolvedConfig, name: string): string {
  const department = config.departments.get(name)!;
  const parts: string[] = [];
  if (department.rateLimit) parts.push(`rate limit ${rateText(department.rateLimit)}`);
  if (department.userRateLimit) parts.push(`per user ${rateText(department.userRateLimit)}`);
  if (department.limits) parts.push(`limits ${limitsText(department.limits)}`);
  for (const key of config.raw.org.departments.find((entry) => entry.name === name)?.keys ?? []) {
    const policy = config.keyPolicies.get(keyPolicyName(name, key.name));
    if (!policy) continue;
    const own = [
      policy.rateLimit && `rate limit ${rateText(policy.rateLimit)}`,
      policy.limits && `limits ${limitsText(policy.limits)}`,
      policy.routeToMock && 'staging, answered by the mock',
    ].filter(Boolean);
    if (own.length > 0) parts.push(`key ${key.name}: ${own.join(', ')}`);
  }
  return parts.join('; ');
}

export function registerConfigCommands(program: Command, output: Partial<CommandOutput> = {}): void {
  const write = commandOutput(output);
  const config = program.command('config').description('work with the config file');
  config
    .command('check')
    .description('validate a config file and print a summary')
    .option('-c, --config <path>', 'config file (env COVENANT_CONFIG; default: the built-in demo)')
    .action((options: { config?: string }) => runCommand(write, 'config check', async () => {
      const file = configFile(options.config, write.environment);
      try {
        const loaded = file ? loadConfigFile(file) : parseConfigText(demoConfigText, '<demo>');
        const resolved = resolveConfig(loaded, file ? write.environment : { ...demoEnvironment, ...write.environment });
        const lines = [
          `${file ?? '<demo>'}: valid (version ${resolved.version.slice(0, 12)})`,
          `  server     ${resolved.server.host}:${resolved.server.port}, body limit ${resolved.server.body_limit_bytes} bytes`,
          `  store      ${resolved.store.kind === 'sqlite' ? `sqlite ${resolved.store.path}` : 'postgres'}${resolved.cache ? ' + redis cache' : ''}`,
          `  providers  ${[...resolved.providers.values()].map((provider) => `${provider.name} (${provider.type})`).join(', ') || 'none'}`,
          '  models',
          ...[...resolved.models.values()].map((model) => `    ${model.alias} -> ${model.provider}:${model.version}  in $${formatMicros(model.pricing.inputMicrosPerMtok)}/Mtok, out $${formatMicros(model.pricing.outputMicrosPerMtok)}/Mtok (${model.priceSource} price)`),
          `  org        ${resolved.org.name}, budgets: ${budgetText(resolved.org.budgets)}`,
          ...[...resolved.departments.values()].map((department) => {
            const keys = resolved.raw.org.departments.find((entry) => entry.name === department.name)?.keys.length ?? 0;
            const line = `    department ${department.name}: ${keys} key(s), budgets: ${budgetText(department.budgets)}, per user: ${budgetText(department.userBudgets)}, content: ${department.retention.content}`;
            const guards = guardsText(resolved, department.name);
            return guards ? `${line}\n      guards: ${guards}` : line;
          }),
          ...[...resolved.systems.values()].map((system) => `  system     ${system.name} (${system.department}, ${system.adm}): a person reviews ${system.reviewFor.join(', ')} within ${system.reviewWindow}`
            + `${system.fairness ? `; parity by ${system.fairness.attribute} >= ${system.fairness.minImpactRatio} (${system.fairness.onBreach})` : ''}${system.sla ? '; performance SLA' : ''}`),
          `  admin keys ${resolved.raw.admin_keys.map((key) => `${key.name} (${key.role}${key.department ? `, ${key.department}` : ''})`).join(', ') || 'none'}`,
          ...resolved.warnings.map((warning) => `  warning: ${warning}`),
          ...configContractWarnings(resolved.raw.models, Date.now()).map((warning) => `  warning: ${warning}`),
        ];
        write.stdout(`${lines.join('\n')}\n`);
        return exitCodes.ok;
      } catch (error) {
        // Problems are printed as they are: each already says file, line and column.
        write.stderr(error instanceof ConfigError ? `${error.message}\n` : `${file ?? '<demo>'}: ${(error as Error).message}\n`);
        return exitCodes.input;
      }
    }));
}
