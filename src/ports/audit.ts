/**
 * The audit trail's one event schema: a discriminated union on `kind`.
 * Every event is built field by field from verified facts (ids, hashes,
 * names, codes); argument values, claims, proofs and credential values are
 * never fields, so there is nothing to redact. docs/audit.md lists each field.
 */

/** Fields that join a decision's pieces across the broker, the runner and the trace. */
export interface Correlation {
  requestId?: string | undefined;
  invocationId?: string | undefined;
  jti?: string | undefined;
  approvalId?: string | undefined;
  /** W3C trace id of the active span, when tracing is on. */
  traceId?: string | undefined;
}

/** A runner call (the original `AuditEvent`; `kind` is optional so existing writers stay valid). */
export interface CallEvent extends Correlation {
  kind?: 'call';
  requestId: string;
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

/** Where a broker decision came from: the HTTP service or a CLI command. */
export type Origin = 'http' | 'cli';

export interface ClaimMintedEvent extends Correlation {
  kind: 'claim_minted';
  origin: Origin;
  subject: string;
  tenant: string;
  toolId: string;
  argsHash: string;
  scope: string[];
  ttlSeconds: number;
  expiresAt: string;
  /** The policy rule that decided: `role:<name>` entries that granted the tool. */
  rule: string;
  roles: string[];
  /** The key id that signed the claim. */
  kid: string;
  /** The claim is bound to a DPoP key (cnf.jkt). */
  bound: boolean;
  /** How the caller authenticated (`api_key:<id>`, `oidc`, `cli`). */
  via?: string | undefined;
}

export interface ClaimRefusedEvent extends Correlation {
  kind: 'claim_refused';
  origin: Origin;
  subject?: string | undefined;
  tenant?: string | undefined;
  toolId?: string | undefined;
  argsHash?: string | undefined;
  roles?: string[] | undefined;
  errorCode: string;
  /** A short, value-free reason (the approval outcome, the rule that denied). */
  reason?: string | undefined;
  via?: string | undefined;
}

export interface ApprovalRequestedEvent extends Correlation {
  kind: 'approval_requested';
  origin: Origin;
  /** Absent when the request was refused (then `errorCode` says why). */
  approvalId?: string | undefined;
  subject?: string | undefined;
  tenant?: string | undefined;
  toolId?: string | undefined;
  argsHash?: string | undefined;
  expiresAt?: string | undefined;
  errorCode?: string | undefined;
  via?: string | undefined;
}

export interface ApprovalDecidedEvent extends Correlation {
  kind: 'approval_decided';
  origin: Origin;
  approvalId: string;
  decision: 'approved' | 'denied';
  approver: string;
  /** Set when the attempt to decide was refused (not an approver, own request, unknown id). */
  errorCode?: string | undefined;
  via?: string | undefined;
  subject?: string | undefined;
  tenant?: string | undefined;
  toolId?: string | undefined;
  argsHash?: string | undefined;
  reason?: string | undefined;
  expiresAt?: string | undefined;
  /** What decided (`pol`): the policy set hash, `approver:<role>` and the Cedar policy ids; on a Cedar refusal, the forbidding ones. */
  policy?: { h: string; ids: string[] } | undefined;
}

export interface RegistryEvent extends Correlation {
  kind: 'registry_locked' | 'registry_verified' | 'registry_reloaded';
  origin: Origin | 'service';
  outcome: 'ok' | 'refused' | 'failed';
  tools?: string[] | undefined;
  lockSha256?: string | undefined;
  errorCode?: string | undefined;
  reason?: string | undefined;
}

export interface KeysRotatedEvent extends Correlation {
  kind: 'keys_rotated';
  origin: Origin;
  /** File stem of the key pair: broker, registry, runner, audit. */
  keyName: string;
  kid: string;
  previousKid?: string | undefined;
  /** Whether older public keys were dropped from the JWKS. */
  replaced: boolean;
}

/**
 * A reload signal's verdict on the files a service reads only at start
 * (src/runtime/config-check.ts): `ok` the files on disk are the ones in
 * effect; `refused` one changed and needs a restart (`reason:
 * restart_required`, `changed`); `failed` one cannot be read.
 */
export interface ConfigReloadedEvent extends Correlation {
  kind: 'config_reloaded';
  origin: 'service';
  outcome: 'ok' | 'refused' | 'failed';
  /** The roles of the files compared: `config`, `policy`, `cedar`. */
  files: string[];
  /** The roles of the files that differ from the ones in effect. */
  changed?: string[] | undefined;
  errorCode?: string | undefined;
  reason?: string | undefined;
}

/** A human lifted a session's circuit-breaker pause (or tried to: `errorCode`). */
export interface SessionResumedEvent extends Correlation {
  kind: 'session_resumed';
  /** Where the approver acted: the HTTP API, the CLI or the console. */
  origin: Origin | 'console';
  session: string;
  tenant: string;
  /** Who resumed it (the approver's subject). */
  actor: string;
  outcome: 'ok' | 'refused';
  errorCode?: string | undefined;
}

export interface ServiceEvent extends Correlation {
  kind: 'service_started' | 'service_stopped';
  /** `runner`, `broker`, `mcp`, or a CLI command name. */
  service: string;
  version?: string | undefined;
  /** `toolcage mcp`: how it serves (`stdio`, `http`). */
  transport?: 'stdio' | 'http' | undefined;
}

/**
 * An MCP task (the Tasks extension) for a call waiting on a human approval:
 * `created` when a task-capable client's call was answered with it; then
 * `completed` (the approved call ran: its own `call` record follows the
 * mint), `failed` (`errorCode`: denied, expired, interrupted) or `cancelled`.
 */
export interface McpTaskEvent extends Correlation {
  kind: 'mcp_task';
  event: 'created' | 'completed' | 'failed' | 'cancelled';
  taskId: string;
  subject?: string | undefined;
  tenant?: string | undefined;
  toolId?: string | undefined;
  errorCode?: string | undefined;
}

/** Written by the sink itself when it recovers from a write failure: how many records were refused. */
export interface AuditRecoveredEvent extends Correlation {
  kind: 'audit_recovered';
  /** Decisions refused with `audit_unavailable` while the destination failed. */
  refused: number;
  since: string;
  errorCode: string;
}

export type AuditEntry =
  | CallEvent
  | ClaimMintedEvent
  | ClaimRefusedEvent
  | ApprovalRequestedEvent
  | ApprovalDecidedEvent
  | RegistryEvent
  | KeysRotatedEvent
  | ConfigReloadedEvent
  | SessionResumedEvent
  | ServiceEvent
  | McpTaskEvent
  | AuditRecoveredEvent;

export type AuditKind = NonNullable<AuditEntry['kind']>;
export type AuditLevel = 'info' | 'warn' | 'error';

/**
 * A runner call's audit event (CONTRACT.md, "Audit"). Kept under its old
 * name: it is the `call` member of the `AuditEntry` union.
 */
export type AuditEvent = CallEvent;

export interface AuditHealth {
  ready: boolean;
  detail: string;
}

/**
 * Where decisions are recorded. `write` is fire-and-forget (the original
 * port); `record` resolves only once the record is accepted by the
 * destination and rejects with `audit_unavailable` when it cannot be, so a
 * caller can refuse a decision that would go unrecorded (fail closed).
 * Sinks without `record` accept on `write`.
 */
export interface AuditSink {
  write(event: AuditEntry): void;
  flush(): Promise<void>;
  record?(event: AuditEntry): Promise<void>;
  /** For /readyz: false while the destination refuses writes. May retry the destination. */
  health?(): Promise<AuditHealth>;
  /** Seals the trail (final checkpoint) and releases the destination. */
  close?(): Promise<void>;
}
