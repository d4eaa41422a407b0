/** Pipeline stages, in order; metrics and spans are named after them (src/executor lists them in STAGES). */
export type Stage =
  | 'resolve'
  | 'verify'
  | 'decide'
  | 'replay'
  | 'govern'
  | 'validate_input'
  | 'lease'
  | 'queue'
  | 'run'
  | 'validate_output';

/**
 * Which call a hook is about. The executor hands the same object to `begin`,
 * every `stage` and the `outcome` of one call. `requestId` may be chosen by the
 * caller (an echoed `x-request-id`), so it is not unique; `invocationId` is.
 */
export interface CallRef {
  readonly requestId: string;
  readonly invocationId: string;
  /** The caller's W3C `traceparent`, when it sent one. */
  readonly traceparent?: string;
  /** The MCP method that carried the call, when it came over MCP. */
  readonly mcpMethod?: string;
}

/**
 * Hooks the executor calls so that metrics and tracing stay outside the pipeline.
 * `stage` reports a stage when it ends, with its duration; `outcome` comes
 * exactly once per call, last. The `call` arguments let a tracer nest the
 * stages of concurrent calls; observers that only count may ignore them.
 */
export interface ExecutorObserver {
  /** A call starts (before the tool is resolved: `toolId` is as received). */
  begin?(call: CallRef, toolId: string): void;
  stage(stage: Stage, toolId: string, ms: number, call?: CallRef): void;
  outcome(
    toolId: string,
    outcome: 'allowed' | 'refused' | 'failed',
    code: string | undefined,
    ms: number,
    call?: CallRef,
  ): void;
  /** The trace id of the call's span, for its audit record (tracing observers only). */
  traceId?(call: CallRef): string | undefined;
}
