import { ToolcageError } from '../errors/toolcage-error.ts';
import { isErrorCode, type ErrorCode } from '../errors/catalogue.ts';

/**
 * A contract error body (`{"error": {"code", "message", "details"}}`) of a
 * toolcage service (runner, broker) back into a ToolcageError with the same
 * code, so an MCP result names the code the service decided; anything else by
 * status: `unavailable` for a 5xx, `request_invalid` otherwise.
 */
export async function errorFromResponse(
  res: Response,
  unavailable: ErrorCode,
): Promise<ToolcageError> {
  let body:
    | {
        error?: {
          code?: unknown;
          message?: unknown;
          retryAfterSeconds?: unknown;
          details?: unknown;
        };
      }
    | undefined;
  try {
    body = (await res.json()) as typeof body;
  } catch {
    body = undefined;
  }
  const e = body?.error;
  const code: ErrorCode = isErrorCode(e?.code)
    ? e.code
    : res.status >= 500
      ? unavailable
      : 'request_invalid';
  const header = Number(res.headers.get('retry-after'));
  const retryAfterSeconds =
    typeof e?.retryAfterSeconds === 'number'
      ? e.retryAfterSeconds
      : Number.isFinite(header) && header > 0
        ? header
        : undefined;
  return new ToolcageError(code, {
    ...(typeof e?.message === 'string' ? { message: e.message } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    ...(e?.details && typeof e.details === 'object'
      ? { details: e.details as Record<string, unknown> }
      : {}),
  });
}
