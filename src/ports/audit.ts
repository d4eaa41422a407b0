/**
 * One audit line per decision, allowed or refused (CONTRACT.md, "Audit").
 * The event is built field by field from verified facts; the raw claim, the
 * argument values and credential values are never part of it, so there is
 * nothing to redact. pino's `redact` is kept as a second line of defence for
 * the names a careless future field might carry.
 */
export interface AuditEvent {
  requestId: string;
  invocationId?: string | undefined;
  jti?: string | undefined;
  approvalId?: string | undefined;
  subject?: string | undefined;
  tenant?: string | undefined;
  toolId: string;
  toolVersion?: string | undefined;
  manifestSha256?: string | undefined;
  argsHash?: string | undefined;
  scope?: string[] | undefined;
  /** The session the claim was minted in (`sid`). */
  session?: string | undefined;
  /** The claim's decision record (`pol`): policy set hash and the rules that allowed it. */
  policy?: { h: string; ids: string[] } | undefined;
  /** The scopes the manifest's templates rendered from this call's arguments. */
  renderedScope?: string[] | undefined;
  credentialLanes?: string[] | undefined;
  backend?: string | undefined;
  limits?: Record<string, number | undefined> | undefined;
  durationMs: number;
  outcome: 'allowed' | 'refused' | 'failed';
  /** The pipeline stage that decided: where a refusal happened ('run' and later mean the tool ran). */
  stage?: string | undefined;
  errorCode?: string | undefined;
  /** Docker: the OCI runtime the call ran on (`runsc` = gVisor, `runc` = host kernel). */
  sandboxRuntime?: string | undefined;
  /** Sanitised diagnostics (e.g. a capped stderr excerpt); never returned to the agent. */
  diagnostic?: string | undefined;
}

export interface AuditSink {
  write(event: AuditEvent): void;
  flush(): Promise<void>;
}
