import { ToolcageError } from '../errors/toolcage-error.ts';
import type { AuditRecord } from './chain.ts';
import { readLines } from './files.ts';

/** Filters of `GET /v1/audit` and `toolcage audit export` (all optional, all ANDed). */
export interface AuditQuery {
  kind?: string | undefined;
  tool?: string | undefined;
  subject?: string | undefined;
  tenant?: string | undefined;
  outcome?: string | undefined;
  errorCode?: string | undefined;
  requestId?: string | undefined;
  invocationId?: string | undefined;
  jti?: string | undefined;
  approvalId?: string | undefined;
  traceId?: string | undefined;
  /** Inclusive lower bound on `time`. */
  since?: Date | undefined;
  /** Exclusive upper bound on `time`. */
  until?: Date | undefined;
  /** Include checkpoint records (default: decisions only). */
  checkpoints?: boolean | undefined;
}

export interface AuditPage {
  records: AuditRecord[];
  /** Pass as `cursor` for the next page; null when this page is the last. */
  nextCursor: string | null;
}

/** A decision's outcome, for kinds that do not carry one: mints allow, refusals refuse, approvals decide. */
export function outcomeOf(r: Record<string, unknown>): string | undefined {
  if (typeof r.outcome === 'string') return r.outcome;
  switch (r.kind) {
    case 'claim_minted':
      return 'allowed';
    case 'claim_refused':
      return 'refused';
    case 'approval_requested':
      return 'pending';
    case 'approval_decided':
      return typeof r.decision === 'string' ? r.decision : undefined;
    default:
      return undefined;
  }
}

const eq = (want: string | undefined, got: unknown) => want === undefined || want === got;

export function matches(r: AuditRecord, q: AuditQuery): boolean {
  if (r.kind === 'checkpoint' && !q.checkpoints) return false;
  const t = Date.parse(r.time);
  if (q.since && !(t >= q.since.getTime())) return false;
  if (q.until && !(t < q.until.getTime())) return false;
  return (
    eq(q.kind, r.kind) &&
    eq(q.tool, r.toolId) &&
    eq(q.subject, r.subject) &&
    eq(q.tenant, r.tenant) &&
    eq(q.outcome, outcomeOf(r)) &&
    eq(q.errorCode, r.errorCode) &&
    eq(q.requestId, r.requestId) &&
    eq(q.invocationId, r.invocationId) &&
    eq(q.jti, r.jti) &&
    eq(q.approvalId, r.approvalId) &&
    eq(q.traceId, r.traceId)
  );
}

/** Every parseable record of the files, in file order (unparseable lines are `audit verify`'s business). */
export async function* readRecords(files: readonly string[]): AsyncGenerator<AuditRecord> {
  for await (const raw of readLines(files)) {
    try {
      const r = JSON.parse(raw.text) as AuditRecord;
      if (r && typeof r.chain === 'string' && typeof r.seq === 'number') yield r;
    } catch {
      /* skipped: verify reports it */
    }
  }
}

type Position = [time: string, chain: string, seq: number];
const position = (r: AuditRecord): Position => [r.time, r.chain, r.seq];
function before(a: Position, b: Position): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  return a[2] < b[2];
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  try {
    const p = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(p) &&
      p.length === 3 &&
      typeof p[0] === 'string' &&
      typeof p[1] === 'string' &&
      Number.isSafeInteger(p[2])
    )
      return p as Position;
  } catch {
    /* below */
  }
  throw new ToolcageError('request_invalid', {
    message: 'The cursor is not one this API returned; start again without it.',
  });
}

/**
 * One page of matching records, ordered by (time, chain, seq); the cursor is
 * the position of the last record returned, so pages stay stable while the
 * trail grows. Reads the files whole: meant for one node's trail, not a SIEM.
 */
export async function queryAudit(
  files: readonly string[],
  q: AuditQuery & {
    cursor?: string | undefined;
    limit: number;
    visible?: (r: AuditRecord) => boolean;
  },
): Promise<AuditPage> {
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const found: AuditRecord[] = [];
  for await (const r of readRecords(files)) {
    if (!matches(r, q) || (q.visible && !q.visible(r))) continue;
    if (after && !before(after, position(r))) continue;
    found.push(r);
  }
  found.sort((a, b) => (before(position(a), position(b)) ? -1 : 1));
  const records = found.slice(0, q.limit);
  const more = found.length > q.limit;
  return { records, nextCursor: more ? encodeCursor(position(records.at(-1)!)) : null };
}
