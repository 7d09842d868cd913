// The one error registry: every error code Covenant returns, with its HTTP status and OpenAI error type.
// Handlers throw CovenantError; one place (gateway/error-response.ts) turns it into an HTTP response.

export const errorCodes = {
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON: {detail}' },
  invalid_request: { status: 400, type: 'invalid_request_error', message: '{detail}' },
  missing_api_key: { status: 401, type: 'authentication_error', message: 'No API key was provided. Send it as "Authorization: Bearer <key>".' },
  invalid_api_key: { status: 401, type: 'authentication_error', message: 'The API key is unknown or has been revoked.' },
  model_not_allowed: { status: 403, type: 'permission_error', message: 'This key may not use the model "{detail}".' },
  forbidden: { status: 403, type: 'permission_error', message: '{detail}' },
  agent_session_suspended: { status: 403, type: 'agent_session_suspended', message: '{detail}' },
  model_not_found: { status: 404, type: 'invalid_request_error', message: 'The model "{detail}" does not exist or is not configured.' },
  model_version_not_found: { status: 404, type: 'invalid_request_error', message: '{detail}' },
  not_found: { status: 404, type: 'invalid_request_error', message: '{detail}' },
  budget_exceeded: { status: 402, type: 'budget_exceeded', message: '{detail}' },
  context_too_large: { status: 400, type: 'invalid_request_error', message: '{detail}' },
  request_too_expensive: { status: 400, type: 'invalid_request_error', message: '{detail}' },
  vendor_not_qualified: { status: 409, type: 'invalid_request_error', message: '{detail}' },
  body_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is larger than the limit of {detail} bytes.' },
  headers_too_large: { status: 431, type: 'invalid_request_error', message: 'The request headers are larger than server.header_limit_bytes.' },
  request_timeout: { status: 408, type: 'invalid_request_error', message: 'The request was not received within server.headers_timeout_ms or server.request_timeout_ms.' },
  too_many_connections: { status: 429, type: 'rate_limit_exceeded', message: 'This client already has {detail} connections open (server.max_connections_per_client).' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'Send the body as application/json.' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_exceeded', message: '{detail}' },
  internal_error: { status: 500, type: 'server_error', message: 'Covenant hit an internal error; the request id identifies it in the logs.' },
  upstream_error: { status: 502, type: 'upstream_error', message: '{detail}' },
  upstream_unsupported: { status: 400, type: 'invalid_request_error', message: '{detail}' },
  budget_store_unavailable: { status: 503, type: 'server_error', message: 'The budget store cannot be reached; requests are refused rather than served unmetered.' },
  session_store_unavailable: { status: 503, type: 'server_error', message: 'The agent session store cannot be reached; requests under an agent policy are refused rather than served unchecked.' },
  rate_limit_store_unavailable: { status: 503, type: 'server_error', message: 'The rate-limit store cannot be reached; requests are refused rather than served unlimited.' },
  evidence_unavailable: { status: 503, type: 'server_error', message: 'The evidence ledger could not record this request, so its answer is withheld; the request id identifies it in the logs.' },
  shutting_down: { status: 503, type: 'server_error', message: 'Covenant is shutting down.' },
  model_version_changed: { status: 503, type: 'model_version_changed', message: '{detail}' },
  upstream_timeout: { status: 504, type: 'upstream_error', message: '{detail}' },
  invalid_explanation: { status: 422, type: 'invalid_request_error', message: '{detail}' },
  review_closed: { status: 409, type: 'invalid_request_error', message: '{detail}' },
  precondition_failed: { status: 412, type: 'invalid_request_error', message: '{detail}' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

export class CovenantError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail = '', options: { param?: string | null; status?: number; headers?: Record<string, string> } = {}) {
    const entry = errorCodes[code];
    super(entry.message.replace('{detail}', detail));
    this.name = 'CovenantError';
    this.code = code;
    this.status = options.status ?? entry.status;
    this.type = entry.type;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

/** An upstream provider failed: keeps the provider's status and message for the client. */
export function upstreamError(provider: string, status: number, message: string): CovenantError {
  const text = `Provider "${provider}" returned HTTP ${status}: ${message}`;
  // Client errors the provider saw in the request (400, 404, 422) keep their status; other failures are 502.
  const keep = status === 400 || status === 404 || status === 409 || status === 422 || status === 429;
  return new CovenantError('upstream_error', text, { status: keep ? status : 502 });
}
