// Covenant errors in Anthropic's error shape, which Anthropic's SDKs parse (https://docs.anthropic.com/en/api/errors).
import { CovenantError, errorCodes } from '../../core/errors.js';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** HTTP status -> Anthropic error type, as the API documents them. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 402: return 'billing_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503:
    case 529: return 'overloaded_error';
    case 504: return 'timeout_error';
    default: return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/**
 * The body for an error answered on /v1/messages; the HTTP status stays the CovenantError's own.
 * Anything that is not a CovenantError is reported as Covenant's generic internal error: never a stack trace.
 * @example covenantErrorToAnthropic(new CovenantError('budget_exceeded', 'Budget "claims" is spent.'))
 *   // {type: 'error', error: {type: 'billing_error', message: 'Budget "claims" is spent.'}}
 */
export function covenantErrorToAnthropic(error: unknown): AnthropicErrorBody {
  if (error instanceof CovenantError) {
    return { type: 'error', error: { type: anthropicErrorType(error.status), message: error.message } };
  }
  return { type: 'error', error: { type: 'api_error', message: errorCodes.internal_error.message } };
}

/** The HTTP status to answer with for any thrown value. */
export function errorStatus(error: unknown): number {
  return error instanceof CovenantError ? error.status : errorCodes.internal_error.status;
}
