import { randomUUID } from 'node:crypto';
import type { AuditSink } from '../audit/audit.ts';
import type { ApprovalRecord } from './approval-store.ts';

/** The stage each approval event is audited under (the audit trail's `stage`). */
export const APPROVAL_STAGES = {
  requested: 'approval.requested',
  approved: 'approval.approved',
  denied: 'approval.denied',
} as const;

/**
 * One audit line per approval request and per decision, through the same
 * sink as every call decision. `subject` is who acted (the requester, or the
 * approver); the requester of a decided request is in `diagnostic`, with the
 * reason a denial gave. Argument values are never written, only their hash.
 */
export function auditApproval(
  sink: AuditSink | undefined,
  o: {
    event: keyof typeof APPROVAL_STAGES;
    record: ApprovalRecord;
    actor: string;
    requestId?: string | undefined;
    selfApproved?: boolean;
  },
): void {
  if (!sink) return;
  const r = o.record;
  const notes = [
    o.event === 'requested' ? undefined : `requester=${r.sub}`,
    o.selfApproved ? 'self-approval allowed by policy' : undefined,
    r.reason && o.event === 'denied' ? `reason=${r.reason.slice(0, 500)}` : undefined,
  ].filter(Boolean);
  sink.write({
    requestId: o.requestId ?? randomUUID(),
    approvalId: r.id,
    subject: o.actor,
    tenant: r.tenant,
    toolId: r.tool,
    ...(r.toolVersion ? { toolVersion: r.toolVersion } : {}),
    ...(r.manifestSha256 ? { manifestSha256: r.manifestSha256 } : {}),
    argsHash: r.argsHash,
    durationMs: 0,
    outcome: o.event === 'approved' ? 'allowed' : 'refused',
    stage: APPROVAL_STAGES[o.event],
    ...(o.event === 'requested' ? { errorCode: 'approval_required' } : {}),
    ...(notes.length ? { diagnostic: notes.join('; ') } : {}),
  });
}
