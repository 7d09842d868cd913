// The one place where any thrown error becomes an HTTP error response in OpenAI's shape (never a stack trace).
import { CovenantError } from '../core/errors.js';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
}

/** Map anything thrown (our errors, fastify's body errors, bugs) to a CovenantError. */
export function toCovenantError(error: unknown, bodyLimit: number): CovenantError {
  if (error instanceof CovenantError) return error;
  const fastifyError = error as FastifyLikeError;
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CovenantError('body_too_large', String(bodyLimit));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CovenantError('invalid_json', 'the body is empty');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CovenantError('unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new CovenantError('invalid_request', 'The Content-Length header does not match the body.');
    default:
      break;
  }
  if (error instanceof SyntaxError || (fastifyError?.statusCode === 400 && /JSON/i.test(fastifyError.message ?? ''))) {
    return new CovenantError('invalid_json', (fastifyError.message ?? '').replace(/^.*?:\s*/, '').slice(0, 200) || 'unparseable');
  }
  if (fastifyError?.statusCode === 404) return new CovenantError('not_found', 'No such route.');
  return new CovenantError('internal_error');
}
