/** One call as every adapter (library, CLI, HTTP, MCP) hands it to the executor. */
export interface ExecuteCall {
  toolId: string;
  /** The call's arguments, exactly as received (validated by the executor, never trusted). */
  args: unknown;
  /** The compact JWS claim, or undefined when none was presented (`claim_missing`). */
  claim: string | undefined;
  /**
   * Proof of possession for claims bound by `cnf.jkt` (RFC 9449). Transports
   * that cannot carry one (the CLI) leave it undefined and such claims are refused.
   */
  dpop?: { proof: string | undefined; htm: string; htu: string };
  /** Correlates the response, the audit line and the logs. */
  requestId: string;
  /** Aborts the run (client went away, shutdown). */
  signal?: AbortSignal;
  /**
   * The caller's W3C trace context (`traceparent`: the HTTP header, or MCP
   * `_meta.traceparent`): the call's spans continue the caller's trace.
   * A malformed value is ignored (a fresh trace starts).
   */
  traceparent?: string;
  /** The MCP method that carried the call (`tools/call`), for span attributes. */
  mcpMethod?: string;
}

export interface ExecuteOutcome {
  result: unknown;
  invocationId: string;
}

/** What `GET /v1/tools` and MCP `tools/list` show of a tool. */
export interface ToolSummary {
  id: string;
  version: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  runtime: 'js' | 'docker';
  risk: 'low' | 'medium' | 'high';
  scopes: string[];
  /** Behaviour hints, each resolved from the manifest or its risk's default. */
  hints: { title?: string; readOnly: boolean; destructive: boolean; idempotent: boolean };
  /** The tool can reach the network (declares egress hosts). */
  openWorld: boolean;
}

/** The single entry point adapters call. Refusals and failures reject with a ToolcageError. */
export interface Executor {
  execute(call: ExecuteCall): Promise<ExecuteOutcome>;
  listTools(): ToolSummary[];
  readiness(): Promise<{
    ready: boolean;
    backends: Record<string, { usable: boolean; detail: string }>;
    stores: string;
    /** Pinned tools not served because they cannot run, each with its problems (readiness names them). */
    withheld: Array<{ id: string; problems: string[] }>;
    /** The audit sink's state (sinks that can fail closed): unready while it refuses records. */
    audit?: { ready: boolean; detail: string };
  }>;
  close(): Promise<void>;
}
