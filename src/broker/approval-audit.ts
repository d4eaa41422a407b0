import { recordDecision, type AuditSink } from '../audit/audit.ts';
import type { ApprovalRecord } from './approval-store.ts';
import type { DecisionRecord } from './decision.ts';

/**
 * One audit record per approval request and per decision, through the same
 * sink as every other decision (`approval_requested`, `approval_decided`).
 * Argument values are never written, only their hash; a denial's reason is.
 * Recorded before the caller reports the outcome: no decision without its record.
 */
export async function auditApproval(
  sink: AuditSink | undefined,
  o: {
    event: 'requested' | 'approved' | 'denied';
    record: ApprovalRecord;
    actor: string;
    requestId?: string | undefined;
    selfApproved?: boolean;
    via?: string | undefined;
    /** Where the decision was made: the broker service (`http`) or a CLI command. */
    origin?: 'http' | 'cli' | undefined;
    /** What decided a decision: the approver roles and the Cedar policies (`pol`). */
    policy?: DecisionRecord | undefined;
  },
): Promise<void> {
  if (!sink) return;
  const r = o.record;
  const common = {
    origin: o.origin ?? (o.via === 'cli' ? ('cli' as const) : ('http' as const)),
    ...(o.requestId ? { requestId: o.requestId } : {}),
    approvalId: r.id,
    subject: r.sub,
    tenant: r.tenant,
    toolId: r.tool,
    argsHash: r.argsHash,
    expiresAt: new Date(r.expiresAtMs).toISOString(),
    ...(o.via ? { via: o.via } : {}),
  };
  await recordDecision(
    sink,
    o.event === 'requested'
      ? { kind: 'approval_requested', ...common }
      : {
          kind: 'approval_decided',
          ...common,
          decision: o.event,
          approver: o.actor,
          ...(o.event === 'denied' && r.reason ? { reason: r.reason.slice(0, 500) } : {}),
          ...(o.selfApproved ? { via: `${o.via ?? 'http'};self-approval allowed by policy` } : {}),
          ...(o.policy ? { policy: o.policy } : {}),
        },
  );
}

/** A refused attempt to decide (no approver role, one's own request, unknown or decided id). */
export async function auditRefusedDecision(
  sink: AuditSink | undefined,
  o: {
    approvalId: string;
    decision: 'approved' | 'denied';
    approver: string;
    errorCode: string;
    requestId?: string | undefined;
    origin?: 'http' | 'cli' | undefined;
    record?: ApprovalRecord | undefined;
    /** The Cedar policies that forbade the approval (or failed to evaluate). */
    policy?: DecisionRecord | undefined;
  },
): Promise<void> {
  if (!sink) return;
  const r = o.record;
  await recordDecision(sink, {
    kind: 'approval_decided',
    origin: o.origin ?? 'http',
    ...(o.requestId ? { requestId: o.requestId } : {}),
    approvalId: o.approvalId,
    decision: o.decision,
    approver: o.approver,
    errorCode: o.errorCode,
    ...(r ? { subject: r.sub, tenant: r.tenant, toolId: r.tool, argsHash: r.argsHash } : {}),
    ...(o.policy ? { policy: o.policy } : {}),
  });
}
