import type { AuditRecord } from './chain.ts';
import { outcomeOf } from './query.ts';

/** The OCSF schema version the mapping follows. */
export const OCSF_VERSION = '1.1.0';

const SEVERITY: Record<string, number> = { info: 1, warn: 3, error: 4 };

interface ClassOf {
  category_uid: number;
  class_uid: number;
  class_name: string;
  activity_id: number;
  activity_name: string;
}

/**
 * Which OCSF class a record maps to (docs/audit.md has the table):
 * tool calls are API Activity (6003); claim mints, refusals and approvals are
 * Authorize Session (3003); registry, keys, config and service events are
 * Application Lifecycle (6002).
 */
function classOf(r: AuditRecord): ClassOf {
  const api = { category_uid: 6, class_uid: 6003, class_name: 'API Activity' };
  const authz = { category_uid: 3, class_uid: 3003, class_name: 'Authorize Session' };
  const life = { category_uid: 6, class_uid: 6002, class_name: 'Application Lifecycle' };
  switch (r.kind) {
    case 'call':
      return { ...api, activity_id: 99, activity_name: 'Invoke' };
    case 'claim_minted':
    case 'claim_refused':
      return { ...authz, activity_id: 1, activity_name: 'Assign Privileges' };
    case 'approval_requested':
    case 'approval_decided':
      return {
        ...authz,
        activity_id: 99,
        activity_name: r.kind === 'approval_requested' ? 'Request Approval' : 'Decide Approval',
      };
    case 'session_resumed':
      return { ...authz, activity_id: 99, activity_name: 'Resume Session' };
    case 'service_started':
      return { ...life, activity_id: 3, activity_name: 'Start' };
    case 'service_stopped':
      return { ...life, activity_id: 4, activity_name: 'Stop' };
    case 'registry_reloaded':
    case 'registry_locked':
    case 'keys_rotated':
    case 'config_reloaded':
      return { ...life, activity_id: 8, activity_name: 'Update' };
    default:
      return { ...life, activity_id: 99, activity_name: String(r.kind) };
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** One trail record as an OCSF event (no field beyond what the record itself holds). */
export function toOcsf(r: AuditRecord): Record<string, unknown> {
  const c = classOf(r);
  const outcome = outcomeOf(r);
  const failed =
    outcome === 'refused' ||
    outcome === 'failed' ||
    outcome === 'denied' ||
    r.errorCode !== undefined;
  const status_id = outcome === undefined && r.errorCode === undefined ? 0 : failed ? 2 : 1;
  const {
    v: _v,
    chain,
    seq,
    prev: _p,
    time,
    level,
    kind,
    subject,
    tenant,
    toolId,
    errorCode,
    requestId,
    invocationId,
    jti,
    approvalId,
    traceId,
    ...rest
  } = r;
  return {
    ...c,
    type_uid: c.class_uid * 100 + c.activity_id,
    time: Date.parse(time),
    severity_id: SEVERITY[level] ?? 0,
    severity: level === 'warn' ? 'Medium' : level === 'error' ? 'High' : 'Informational',
    status_id,
    status: status_id === 1 ? 'Success' : status_id === 2 ? 'Failure' : 'Unknown',
    ...(errorCode !== undefined ? { status_code: errorCode } : {}),
    message: `${String(kind)}${outcome ? ` ${outcome}` : ''}${toolId ? ` ${String(toolId)}` : ''}`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'toolcage', vendor_name: 'toolcage' },
      uid: `${chain}:${seq}`,
      ...(str(requestId) ? { correlation_uid: requestId } : {}),
      ...(str(tenant) ? { tenant_uid: tenant } : {}),
      log_name: 'toolcage-audit',
    },
    ...(str(subject) ? { actor: { user: { uid: subject, name: subject } } } : {}),
    api: {
      operation: String(kind),
      ...(str(requestId) ? { request: { uid: requestId } } : {}),
    },
    ...(str(toolId) ? { resources: [{ type: 'tool', uid: toolId, name: toolId }] } : {}),
    ...(str(traceId) ? { trace: { uid: traceId } } : {}),
    unmapped: {
      ...rest,
      ...(str(invocationId) ? { invocationId } : {}),
      ...(str(jti) ? { jti } : {}),
      ...(str(approvalId) ? { approvalId } : {}),
    },
  };
}
