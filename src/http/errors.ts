import type { FastifyReply } from 'fastify';
import { ToolcageError, toToolcageError, type TransportHints } from '../errors/toolcage-error.ts';

/**
 * Translates what fastify (or Node's parser) throws before our handler runs
 * into contract codes, in one place: the caller always gets the contract's
 * JSON body, never fastify's own error shape.
 */
export function translateHttpError(err: unknown): ToolcageError {
  if (err instanceof ToolcageError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ToolcageError('payload_too_large', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ToolcageError('unsupported_media_type', { cause: err });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ToolcageError('request_invalid', {
        message: 'The body is empty; send a JSON object.',
        cause: err,
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ToolcageError('request_invalid', {
        message: 'The body is not valid JSON.',
        cause: err,
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ToolcageError('request_invalid', {
        message: 'Content-Length does not match the body sent.',
        cause: err,
      });
    default:
      break;
  }
  if (e?.code === 'FST_ERR_BAD_URL')
    return new ToolcageError('request_invalid', {
      message: 'The URL path is not valid (bad percent-encoding).',
      cause: err,
    });
  if (err instanceof SyntaxError) {
    return new ToolcageError('request_invalid', {
      message: 'The body is not valid JSON.',
      cause: err,
    });
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ToolcageError('request_invalid', { cause: err });
  }
  return toToolcageError(err);
}

/** The scheme a 401 asks for (RFC 6750 §3, RFC 9449 §7.1). */
function challengeFor(error: ToolcageError): string | undefined {
  if (error.status !== 401) return undefined;
  if (error.code === 'dpop_invalid') return 'DPoP algs="ES256 EdDSA", error="invalid_dpop_proof"';
  if (error.code === 'unauthenticated') return 'Bearer';
  return error.code === 'claim_missing' ? 'Bearer' : 'Bearer error="invalid_token"';
}

/**
 * HTTP's words for the next steps core errors point at (`ToolcageError#hint`):
 * the route to call. Operator steps that have no route (locking the registry,
 * building images) are not rendered: an HTTP caller cannot take them.
 */
export const HTTP_HINTS: TransportHints = {
  list_tools: 'List the allowed tools with GET /v1/tools.',
  request_approval: 'Ask for one with POST /v1/approvals on the broker.',
  approve_request: (h) =>
    `An approver approves it${h.consoleUrl ? ` at ${h.consoleUrl} or` : ''} with POST /v1/approvals/${h.requestId ?? '{id}'}/approve on the broker.`,
  resume_session: (h) =>
    `An approver resumes it with POST /v1/sessions/${h.session === undefined ? '{id}' : encodeURIComponent(h.session)}/resume on the broker.`,
  explain_policy: 'An operator sees why with `toolcage policy explain`.',
};

/**
 * Sends the contract's error body with its status, a `Retry-After` when the
 * error says when a retry may work, and a `WWW-Authenticate` challenge on 401s.
 */

export function sendError(reply: FastifyReply, err: unknown, requestId: string): FastifyReply {
  const error = translateHttpError(err);
  // Set here too: errors raised before the onRequest hook (a bad URL) still carry the id.
  reply.header('x-request-id', requestId);
  if (error.retryAfterSeconds !== undefined && error.retryAfterSeconds >= 0) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  }
  const challenge = challengeFor(error);
  if (challenge) reply.header('www-authenticate', challenge);
  if (error.status >= 500 && error.code === 'internal') {
    reply.log.error(
      {
        requestId,
        err:
          error.cause instanceof Error
            ? { type: error.cause.name, message: error.cause.message, stack: error.cause.stack }
            : undefined,
      },
      'internal error',
    );
  }
  return reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send(error.toBody(requestId, HTTP_HINTS));
}
