import type { AuditEvent } from '../ports/audit.ts';
import type { ClaimPayload } from '../ports/claims.ts';
import type { ExecuteCall } from '../ports/execute.ts';
import type { CallRef, Stage } from '../ports/observer.ts';
import type { LoadedTool } from '../ports/tool.ts';

/** Per-call facts gathered along the pipeline, for the audit line. */
export interface Trail {
  started: number;
  invocationId: string;
  /** Names this call to the observer's hooks. */
  ref: CallRef;
  tool?: LoadedTool;
  claim?: ClaimPayload;
  argsHash?: string;
  lanes?: string[];
  backend?: string;
  /** Docker: the OCI runtime the call ran on (runsc, runc). */
  sandboxRuntime?: string;
  diagnostic?: string;
  /** The last pipeline stage entered. */
  stage?: Stage;
  /** RFC 8785 text of the arguments, computed once for the hash and the size cap. */
  canonicalArgs?: string;
  /** Scopes the manifest's templates render from these arguments. */
  renderedScope?: string[];
  /** The decision's record was handed to the sink (so a failure after it is the sink's). */
  audited?: boolean;
}

/** The one audit line of a call, built field by field from what the pipeline verified. */
export function auditEvent(
  call: ExecuteCall,
  trail: Trail,
  outcome: AuditEvent['outcome'],
  durationMs: number,
  errorCode?: string,
  traceId?: string,
): AuditEvent {
  const t = trail.tool;
  const c = trail.claim;
  const event: AuditEvent = {
    kind: 'call',
    requestId: call.requestId,
    invocationId: trail.invocationId,
    ...(traceId ? { traceId } : {}),
    toolId: t?.manifest.id ?? String(call.toolId).slice(0, 200),
    durationMs,
    outcome,
    ...(trail.stage ? { stage: trail.stage } : {}),
    ...(t
      ? {
          toolVersion: t.manifest.version,
          manifestSha256: t.manifestSha256,
          limits: { ...t.manifest.limits },
        }
      : {}),
    ...(c
      ? {
          jti: c.jti,
          subject: c.sub,
          tenant: c.tenant,
          scope: c.scope,
          ...(trail.renderedScope?.length ? { renderedScope: trail.renderedScope } : {}),
          ...(c.approval_id ? { approvalId: c.approval_id } : {}),
          ...(c.sid ? { session: c.sid } : {}),
          ...(c.pol ? { policy: c.pol } : {}),
        }
      : {}),
    ...(trail.argsHash ? { argsHash: trail.argsHash } : c ? { argsHash: c.args_hash } : {}),
    credentialLanes: trail.lanes ?? [],
    // The backend the call ran on, or would have: refusals before the run still say which sandbox the tool uses.
    ...((trail.backend ?? t) ? { backend: trail.backend ?? t!.manifest.runtime } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(trail.sandboxRuntime ? { sandboxRuntime: trail.sandboxRuntime } : {}),
    ...(trail.diagnostic ? { diagnostic: trail.diagnostic } : {}),
  };
  return event;
}
