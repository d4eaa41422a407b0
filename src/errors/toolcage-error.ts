import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.ts';

/**
 * What a person could do next that only an adapter can name (a route, a
 * command, an MCP method): the core sets the kind and what the step needs (an
 * id), each adapter renders it in its own words (`toBody(requestId, hints)`,
 * `messageFor(hints)`), so core messages carry no transport words. Fields
 * beyond `kind` are optional: an adapter shows a placeholder where one is
 * missing (the catalogue's default hints carry none).
 */
export type TransportHint =
  /** See which tools the caller may call. */
  | { kind: 'list_tools' }
  /** Have a human approve exactly this call, then mint a claim carrying the approval's id. */
  | { kind: 'request_approval' }
  /** Have an approver decide the pending request `requestId` (in the console at `consoleUrl` when there is one). */
  | { kind: 'approve_request'; requestId?: string; consoleUrl?: string }
  /** Have a human resume a session its circuit breaker paused. */
  | { kind: 'resume_session'; session?: string }
  /** Hash, pin and sign the registry (the operator, with the platform key). */
  | { kind: 'lock_registry' }
  /** Build toolcage's Docker tool images from the shipped recipes. */
  | { kind: 'build_images' }
  /** Make a signing key pair (a private JWK and its public JWKS). */
  | { kind: 'generate_key' }
  /** Make an API key and the config line holding its hash. */
  | { kind: 'make_api_key' }
  /** Create a workspace (config, dev keys, example tools, lock), or name another config file. */
  | { kind: 'init_workspace' }
  /** See what the policy decided for a call, and why. */
  | { kind: 'explain_policy' }
  /** Type-check the Cedar policies against the registry, with every problem listed. */
  | { kind: 'check_policy' };

export type TransportHintKind = TransportHint['kind'];

/** An adapter's words for each hint it can render: fixed text, or text built from the hint's fields. */
export type TransportHints = {
  [K in TransportHintKind]?: string | ((hint: Extract<TransportHint, { kind: K }>) => string);
};

/**
 * The next step a catalogue message implies when the error carries no message
 * of its own (a specific message says its own next step, with its own hint).
 */
const DEFAULT_HINTS: Partial<Record<ErrorCode, TransportHint>> = {
  approval_required: { kind: 'request_approval' },
  session_paused: { kind: 'resume_session' },
};

export interface ToolcageErrorOptions {
  /** A more specific, actionable message than the catalogue's. Never echo secrets or token payloads here. */
  message?: string;
  cause?: unknown;
  /** Machine-readable details safe to show the caller (failing schema paths, retry delay, ...). */
  details?: Record<string, unknown>;
  /** Seconds after which a retry may succeed (rate limits, quotas). */
  retryAfterSeconds?: number;
  /** A next step the adapter names in its own transport's words (a bare kind for a hint without fields). */
  hint?: TransportHint | TransportHintKind;
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
    this.hint =
      typeof options.hint === 'string'
        ? ({ kind: options.hint } as TransportHint)
        : (options.hint ?? (options.message === undefined ? DEFAULT_HINTS[code] : undefined));
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
    const words = this.hint === undefined ? undefined : hintWords(this.hint, hints);
    return words === undefined ? this.message : `${this.message} ${words}`;
  }
}

/** An adapter's words for one hint, or undefined when it has none for its kind. */
export function hintWords(hint: TransportHint, hints: TransportHints): string | undefined {
  const words = hints[hint.kind] as string | ((h: TransportHint) => string) | undefined;
  return typeof words === 'function' ? words(hint) : words;
}

export function isToolcageError(err: unknown): err is ToolcageError {
  return err instanceof ToolcageError;
}

/** Anything thrown that is not already a ToolcageError is ours: `internal`, with the original kept as cause. */
export function toToolcageError(err: unknown): ToolcageError {
  if (err instanceof ToolcageError) return err;
  return new ToolcageError('internal', { cause: err });
}
