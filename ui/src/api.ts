// The console's one client of the gateway: same-origin fetches with the session cookie, the CSRF token on writes.
export interface Session {
  name: string;
  role: string;
  department: string | null;
  allowed: string[];
  csrf_token: string;
  expires_at: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};

export function useSession(session: Session | null, signedOut: () => void): void {
  csrfToken = session?.csrf_token ?? '';
  onSignedOut = signedOut;
}

export async function api<T>(path: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (method !== 'GET') headers['x-covenant-csrf'] = csrfToken;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const json = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (response.status === 401 && !path.startsWith('/ui/api/session')) onSignedOut();
    throw new ApiError(response.status, error?.code ?? String(response.status), error?.message ?? `${response.status} ${response.statusText}`);
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function signIn(key: string): Promise<Session> {
  return api<Session>('/ui/api/session', { method: 'POST', body: { key } });
}

export function currentSession(): Promise<Session> {
  return api<Session>('/ui/api/session');
}

export function signOut(): Promise<unknown> {
  return api('/ui/api/session', { method: 'DELETE' });
}
