import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.ts';

/**
 * What a person could do next that only an adapter can name (a route, a
 * command, an MCP method): the core sets the kind, each adapter renders its
 * own words for it (`toBody(requestId, hints)`), so core messages carry no
 * transport words.
 */
export type TransportHint = 'list_tools';

/** An adapter's words for each hint it can render. */
export type TransportHints = Partial<Record<TransportHint, string>>;

export interface ToolcageErrorOptions {
  /** A more specific, actionable message than the catalogue's. Never echo secrets or token payloads here. */
  message?: string;
  cause?: unknown;
  /** Machine-readable details safe to show the caller (failing schema paths, retry delay, ...). */
  details?: Record<string, unknown>;
  /** Seconds after which a retry may succeed (rate limits, quotas). */
  retryAfterSeconds?: number;
  /** A next step the adapter names in its own transport's words. */
  hint?: TransportHint;
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
  readonly hint: TransportHint | undefined;

  constructor(code: ErrorCode, options: ToolcageErrorOptions = {}) {
    super(
      options.message ?? ERROR_CATALOGUE[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.hint = options.hint;
  }

  /** The contract's error body: `{"error": {"code", "message", "requestId"}}`, with the adapter's words for the hint. */
  toBody(
    requestId: string,
    hints: TransportHints = {},
  ): {
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
        message: this.messageFor(hints),
        requestId,
        ...(this.details ? { details: this.details } : {}),
        ...(this.retryAfterSeconds !== undefined
          ? { retryAfterSeconds: this.retryAfterSeconds }
          : {}),
      },
    };
  }

  /** The message with the adapter's words for the hint appended, when it has any. */
  messageFor(hints: TransportHints): string {
    const words = this.hint === undefined ? undefined : hints[this.hint];
    return words === undefined ? this.message : `${this.message} ${words}`;
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
