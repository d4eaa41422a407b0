/**
 * What the console's Decisions page needs of the audit trail: the documented
 * `GET /v1/audit` query and answer (docs/audit.md). Kept to one method so the
 * broker can hand in whichever implementation serves that API.
 */
export interface AuditQuery {
  tool?: string;
  subject?: string;
  tenant?: string;
  outcome?: string;
  errorCode?: string;
  /** ISO 8601 times. */
  since?: string;
  until?: string;
  requestId?: string;
  invocationId?: string;
  cursor?: string;
}

export interface AuditRecord {
  kind?: string;
  ts?: string;
  requestId?: string;
  invocationId?: string;
  jti?: string;
  approvalId?: string;
  subject?: string;
  tenant?: string;
  toolId?: string;
  outcome?: string;
  errorCode?: string;
  stage?: string;
  [field: string]: unknown;
}

export interface AuditPage {
  records: AuditRecord[];
  nextCursor: string | null;
}

export interface AuditSearchClient {
  search(query: AuditQuery): Promise<AuditPage>;
}

export const AUDIT_QUERY_FIELDS = [
  'tool',
  'subject',
  'tenant',
  'outcome',
  'errorCode',
  'since',
  'until',
  'requestId',
  'invocationId',
  'cursor',
] as const;
