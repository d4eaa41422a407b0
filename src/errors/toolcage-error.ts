import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.ts';

export interface ToolcageErrorOptions {
  /** A more specific, actionable message than the catalogue's. Never echo secrets or token payloads here. */
  message?: string;
  cause?: unknown;
  /** Machine-readable details safe to show the caller (failing schema paths, retry delay, ...). */
  details?: Record<string, unknown>;
  /** Seconds after which a retry may succeed (rate limits, quotas). */
  retryAfterSeconds?: number;
}

/**
 * The one error type every refusal and failure becomes. Its `code` is a
 * contract code; its `message` is for a person and safe to return.
 */
export class ToolcageError extends Error {
  override readonly name = 'ToolcageError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: ToolcageErrorOptions = {}) {
    super(
      options.message ?? ERROR_CATALOGUE[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The contract's error body: `{"error": {"code", "message", "requestId"}}`. */
  toBody(requestId: string): {
    error: {
      code: ErrorCode;
      message: string;
      requestId: string;
      details?: Record<string, unknown>;
      retryAfterSeconds?: number;
    };
  } {
    return {
      error: {
        code: this.code,
        message: this.message,
        requestId,
        ...(this.details ? { details: this.details } : {}),
        ...(this.retryAfterSeconds !== undefined
          ? { retryAfterSeconds: this.retryAfterSeconds }
          : {}),
      },
    };
  }
}

export function isToolcageError(err: unknown): err is ToolcageError {
  return err instanceof ToolcageError;
}

/** Anything thrown that is not already a ToolcageError is ours: `internal`, with the original kept as cause. */
export function toToolcageError(err: unknown): ToolcageError {
  if (err instanceof ToolcageError) return err;
  return new ToolcageError('internal', { cause: err });
}
