// Cross-field checks of a schema-valid config: names are unique and every reference points at something defined.
import type { RawConfig } from './schema.js';

export interface ReferenceProblem {
  path: (string | number)[];
  message: string;
}

function duplicates<T>(items: T[], nameOf: (item: T) => string, path: (index: number) => (string | number)[], what: string): ReferenceProblem[] {
  const seen = new Set<string>();
  const problems: ReferenceProblem[] = [];
  items.forEach((item, index) => {
    const name = nameOf(item);
    if (seen.has(name)) problems.push({ path: path(index), message: `${what} "${name}" is defined more than once` });
    seen.add(name);
  });
  return problems;
}

export function referenceProblems(config: RawConfig): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const providers = new Set(config.providers.map((provider) => provider.name));
  const aliases = new Set(config.models.map((model) => model.alias));
  const departments = new Set(config.org.departments.map((department) => department.name));

  problems.push(...duplicates(config.providers, (provider) => provider.name, (index) => ['providers', index, 'name'], 'provider'));
  problems.push(...duplicates(config.models, (model) => model.alias, (index) => ['models', index, 'alias'], 'model alias'));
  problems.push(...duplicates(config.org.departments, (department) => department.name, (index) => ['org', 'departments', index, 'name'], 'department'));
  problems.push(...duplicates(config.admin_keys, (key) => key.name, (index) => ['admin_keys', index, 'name'], 'admin key'));

  config.models.forEach((model, index) => {
    if (!providers.has(model.provider)) {
      problems.push({ path: ['models', index, 'provider'], message: `no provider named "${model.provider}" (defined: ${[...providers].join(', ') || 'none'})` });
    }
  });
  config.providers.forEach((provider, index) => {
    if (provider.type === 'openai-compatible' && !provider.base_url) {
      problems.push({ path: ['providers', index, 'base_url'], message: 'an openai-compatible provider needs base_url' });
    }
    if (provider.responses_api !== undefined && provider.type !== 'openai' && provider.type !== 'openai-compatible') {
      problems.push({ path: ['providers', index, 'responses_api'], message: `a provider of type ${provider.type} has no Responses API of its own; responses_api is for openai and openai-compatible providers` });
    }
  });
  config.admin_keys.forEach((key, index) => {
    if (key.department && !departments.has(key.department)) {
      problems.push({ path: ['admin_keys', index, 'department'], message: `no department named "${key.department}"` });
    }
  });
  config.org.departments.forEach((department, departmentIndex) => {
    const keyPath = (keyIndex: number) => ['org', 'departments', departmentIndex, 'keys', keyIndex, 'name'];
    problems.push(...duplicates(department.keys, (key) => key.name, keyPath, `key in department "${department.name}"`));
    department.keys.forEach((key, keyIndex) => {
      // Only a staging key may be answered by the mock: a production key silently served by it would be an outage.
      if (key.route === 'mock' && key.environment !== 'staging') {
        problems.push({ path: ['org', 'departments', departmentIndex, 'keys', keyIndex, 'route'], message: 'route: mock needs environment: staging on the same key' });
      }
      (key.models ?? []).forEach((alias, aliasIndex) => {
        if (!aliases.has(alias)) {
          problems.push({
            path: ['org', 'departments', departmentIndex, 'keys', keyIndex, 'models', aliasIndex],
            message: `no model alias "${alias}" (defined: ${[...aliases].join(', ') || 'none'})`,
          });
        }
      });
    });
  });
  problems.push(...systemProblems(config, departments));
  if (config.org.timezone !== undefined && !validTimeZone(config.org.timezone)) {
    problems.push({ path: ['org', 'timezone'], message: `unknown time zone "${config.org.timezone}" (expected an IANA name such as Europe/Paris)` });
  }
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(config.store)) {
    problems.push({ path: ['store'], message: 'expected "sqlite:PATH" or "postgres://…"' });
  }
  if (config.cache !== undefined && !/^rediss?:\/\/.+/.test(config.cache)) {
    problems.push({ path: ['cache'], message: 'expected "redis://HOST:PORT"' });
  }
  // The embedded store counts budgets in its own process; only the distributed store keeps them in Redis.
  if (config.store.startsWith('sqlite:') && config.cache !== undefined) {
    problems.push({ path: ['cache'], message: 'cache is used only with store: postgres://… (an embedded SQLite store counts budgets itself): remove it' });
  }
  if (/^postgres(ql)?:\/\//.test(config.store) && config.cache === undefined) {
    problems.push({ path: ['store'], message: 'a postgres:// store needs cache: redis://HOST:PORT for the budget counters' });
  }
  return problems;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Decision-oversight systems: unique names, a defined department, and a review window longer than nothing. */
function systemProblems(config: RawConfig, departments: Set<string>): ReferenceProblem[] {
  const problems = duplicates(config.systems, (system) => system.name, (index) => ['systems', index, 'name'], 'system');
  config.systems.forEach((system, index) => {
    if (!departments.has(system.department)) {
      problems.push({ path: ['systems', index, 'department'], message: `no department named "${system.department}" (defined: ${[...departments].join(', ') || 'none'})` });
    }
  });
  return problems;
}
