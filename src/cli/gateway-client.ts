// The one client for CLI commands that act on a running gateway: finds its URL and admin key, turns failures into input errors.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { recordedAddress } from '../gateway/address-file.js';
import { configFile, defaultDataPath, InputError, readConfig, storeOf } from './command.js';
import type { LoadedConfig } from '../config/load.js';

export const defaultGatewayUrl = 'http://127.0.0.1:4141';
/** Read when neither --admin-key-env nor a config's admin_keys gives a key. */
export const defaultAdminKeyEnv = 'COVENANT_ADMIN_KEY';

export interface GatewayClientOptions {
  url?: string;
  adminKeyEnv?: string;
  config?: string;
}

export interface GatewayClient {
  /** The gateway's base URL, and where it came from (for messages). */
  url: string;
  source: string;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  put<T = unknown>(path: string, body?: unknown): Promise<T>;
  delete<T = unknown>(path: string, body?: unknown): Promise<T>;
  /** A GET whose answer is a file (an export): its body as it arrives, for the caller to stream where it goes. */
  download(path: string): Promise<ReadableStream<Uint8Array>>;
}

/** Add the options every gateway command takes: --url, --admin-key-env, --config. */
export function gatewayOptions(command: Command): Command {
  return command
    .option('--url <url>', 'gateway address (default: the one a running gateway recorded beside its store, else the config\'s server)')
    .option('--admin-key-env <name>', `environment variable holding the admin key (default: the config's first admin_keys entry that is set, else ${defaultAdminKeyEnv})`)
    .option('-c, --config <path>', 'config file (env COVENANT_CONFIG): where the gateway listens and its admin keys');
}

function hostUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `--url`, else the URL a running gateway recorded beside its embedded store, else the config's server, else the default. */
export function findUrl(option: string | undefined, config: LoadedConfig | undefined): { url: string; source: string } {
  if (option !== undefined) return { url: option, source: '--url' };
  const store = config ? storeOf(config) : defaultDataPath;
  if (!/^postgres(ql)?:\/\//.test(store) && store !== ':memory:') {
    const recorded = recordedAddress(store);
    if (recorded) return { url: recorded, source: `the address recorded beside ${store}` };
  }
  if (config) return { url: hostUrl(config.raw.server.host, config.raw.server.port), source: `server in ${config.file}` };
  return { url: defaultGatewayUrl, source: 'the default address' };
}

/** `--admin-key-env`, else the config's first admin_keys entry whose variable is set, else COVENANT_ADMIN_KEY. */
function findAdminKey(option: string | undefined, config: LoadedConfig | undefined, environment: Record<string, string | undefined>): string {
  if (option !== undefined) {
    const value = environment[option];
    if (!value) throw new InputError(`set ${option} to an admin key (or name another variable with --admin-key-env)`);
    return value;
  }
  for (const key of config?.raw.admin_keys ?? []) {
    const value = environment[key.key_env];
    if (value) return value;
  }
  const fallback = environment[defaultAdminKeyEnv];
  if (fallback) return fallback;
  const configured = config?.raw.admin_keys.map((key) => key.key_env) ?? [];
  const names = [...configured, defaultAdminKeyEnv].join(', ');
  throw new InputError(`no admin key: set one of ${names}, or name the variable with --admin-key-env`);
}

/** The message of an error answer in Covenant's (OpenAI's) shape, else the text as it came. */
function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    return text;
  }
}

/**
 * Find the gateway and its admin key; throws InputError (exit 2) when either cannot be found.
 * @example const client = connectGateway(options, output.environment); const report = await client.get<SpendReport>('/admin/spend');
 */
export function connectGateway(options: GatewayClientOptions, environment: Record<string, string | undefined>): GatewayClient {
  const file = configFile(options.config, environment);
  if (file !== undefined && !existsSync(file)) throw new InputError(`no config file at ${file}`);
  const config = file === undefined ? undefined : readConfig(file);
  const { url, source } = findUrl(options.url, config);
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new InputError(`${source} "${url}" is not a URL`);
  }
  const adminKey = findAdminKey(options.adminKeyEnv, config, environment);

  const send = async (method: string, target: URL, body: unknown, accept: string): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, accept, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new InputError(`cannot reach the gateway at ${target.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message} (address from ${source})`);
    }
    if (!response.ok) throw new InputError(`the gateway answered HTTP ${response.status}: ${errorMessage(await response.text())}`);
    return response;
  };

  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const target = new URL(path, base);
    const text = await (await send(method, target, body, 'application/json')).text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new InputError(`the gateway's answer to ${method} ${target.pathname} is not JSON`);
    }
  };
  return {
    url: base.origin,
    source,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    delete: (path, body) => request('DELETE', path, body),
    async download(path) {
      const response = await send('GET', new URL(path, base), undefined, '*/*');
      if (response.body === null) throw new InputError(`the gateway's answer to GET ${path} has no body`);
      return response.body;
    },
  };
}
