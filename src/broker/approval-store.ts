/**
 * Human approvals for high-risk calls. An approval request is bound to one
 * envelope (tool, subject, tenant, args hash), stores the exact arguments so a
 * human sees what they approve, expires, and is consumed once by the runner,
 * atomically, across every process sharing the store.
 */
export interface ApprovalEnvelope {
  tool: string;
  sub: string;
  tenant: string;
  argsHash: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'used';

export interface ApprovalRecord extends ApprovalEnvelope {
  id: string;
  status: ApprovalStatus;
  createdAtMs: number;
  expiresAtMs: number;
  toolVersion?: string;
  manifestSha256?: string;
  risk?: string;
  /** The MCP session (or other caller session) the call came from, when known. */
  session?: string;
  /**
   * The exact arguments, as JSON text (a string, so no store re-encodes them:
   * Redis's cjson would turn `[]` into `{}`). Shown masked per the manifest.
   */
  argsJson?: string;
  /** How the requester authenticated (`oidc`, `api_key:<id>`, `cli`, `mcp`). */
  requestedVia?: string;
  /** Who approved or denied (a person's id), when decided. */
  decidedBy?: string;
  decidedAtMs?: number;
  reason?: string;
}

/** Why a consume failed; each maps to an actionable `approval_required` message. */
export type ApprovalConsumeOutcome =
  'ok' | 'missing' | 'mismatch' | 'expired' | 'used' | 'pending' | 'denied';

export interface ApprovalFilter {
  status?: ApprovalStatus;
  tool?: string;
  tenant?: string;
  subject?: string;
  /** Newest first; at most this many (default 200, at most 1000). */
  limit?: number;
}

export interface OpenedApproval {
  record: ApprovalRecord;
  /** False when a live request for the same envelope was returned instead. */
  created: boolean;
}

export interface ApprovalStore {
  create(record: ApprovalRecord): Promise<void>;
  /**
   * Atomically: the live request for `record`'s envelope (pending, approved or
   * denied, and unexpired), or `record` stored as new. Two callers at once, on
   * any process sharing the store, get the same request.
   */
  open(record: ApprovalRecord, nowMs: number): Promise<OpenedApproval>;
  get(id: string, nowMs?: number): Promise<ApprovalRecord | undefined>;
  list(filter: ApprovalFilter, nowMs: number): Promise<ApprovalRecord[]>;
  /** Approve or deny a pending, unexpired request; false when it is not. */
  decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
    reason?: string,
  ): Promise<boolean>;
  /** Marks an approved, unexpired approval for exactly this envelope as used. */
  consume(id: string, envelope: ApprovalEnvelope, nowMs: number): Promise<ApprovalConsumeOutcome>;
  /** Marks pending/approved requests past their expiry as expired and drops old records; returns how many changed. */
  sweep(nowMs: number): Promise<number>;
  close(): Promise<void>;
}

/** How long a finished record stays listable after it expires. */
export const RETAIN_AFTER_EXPIRY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_LIST_LIMIT = 200;
export const MAX_LIST_LIMIT = 1000;

export function sameEnvelope(a: ApprovalEnvelope, b: ApprovalEnvelope): boolean {
  return a.tool === b.tool && a.sub === b.sub && a.tenant === b.tenant && a.argsHash === b.argsHash;
}

/** The status as of `nowMs`: a pending or approved request past its expiry is expired, swept or not. */
export function statusAt(record: ApprovalRecord, nowMs: number): ApprovalStatus {
  if ((record.status === 'pending' || record.status === 'approved') && record.expiresAtMs <= nowMs)
    return 'expired';
  return record.status;
}

/** Whether a record still answers for its envelope (a retry is given it rather than a new one). */
export function isLive(record: ApprovalRecord, nowMs: number): boolean {
  const s = statusAt(record, nowMs);
  return (s === 'pending' || s === 'approved' || s === 'denied') && record.expiresAtMs > nowMs;
}

export function matchesFilter(r: ApprovalRecord, f: ApprovalFilter): boolean {
  return (
    (f.status === undefined || r.status === f.status) &&
    (f.tool === undefined || r.tool === f.tool) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.subject === undefined || r.sub === f.subject)
  );
}

export function listLimit(f: ApprovalFilter): number {
  return Math.max(1, Math.min(f.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT));
}

/** Why an approval record cannot be consumed for `envelope` now, or 'ok'. Shared by every store. */
export function consumeOutcome(
  record: ApprovalRecord | undefined,
  envelope: ApprovalEnvelope,
  nowMs: number,
): ApprovalConsumeOutcome {
  if (!record) return 'missing';
  if (!sameEnvelope(record, envelope)) return 'mismatch';
  if (record.status !== 'approved') return record.status === 'expired' ? 'expired' : record.status;
  if (record.expiresAtMs <= nowMs) return 'expired';
  return 'ok';
}

/** In-memory twin for unit tests. */
export class MemoryApprovalStore implements ApprovalStore {
  readonly #records = new Map<string, ApprovalRecord>();

  async create(record: ApprovalRecord): Promise<void> {
    if (this.#records.has(record.id)) throw new Error(`approval ${record.id} exists`);
    this.#records.set(record.id, { ...record });
  }

  async open(record: ApprovalRecord, nowMs: number): Promise<OpenedApproval> {
    const live = [...this.#records.values()]
      .filter((r) => sameEnvelope(r, record) && isLive(r, nowMs))
      .sort((a, b) => b.createdAtMs - a.createdAtMs)[0];
    if (live) return { record: { ...live, status: statusAt(live, nowMs) }, created: false };
    await this.create(record);
    return { record: { ...record }, created: true };
  }

  async get(id: string, nowMs = Date.now()): Promise<ApprovalRecord | undefined> {
    const r = this.#records.get(id);
    return r ? { ...r, status: statusAt(r, nowMs) } : undefined;
  }

  async list(filter: ApprovalFilter, nowMs: number): Promise<ApprovalRecord[]> {
    return [...this.#records.values()]
      .map((r) => ({ ...r, status: statusAt(r, nowMs) }))
      .filter((r) => matchesFilter(r, filter))
      .sort((a, b) => b.createdAtMs - a.createdAtMs)
      .slice(0, listLimit(filter));
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
    reason?: string,
  ): Promise<boolean> {
    const r = this.#records.get(id);
    if (!r || r.status !== 'pending' || r.expiresAtMs <= nowMs) return false;
    r.status = decision;
    r.decidedBy = decidedBy;
    r.decidedAtMs = nowMs;
    if (reason !== undefined) r.reason = reason;
    return true;
  }

  async consume(
    id: string,
    envelope: ApprovalEnvelope,
    nowMs: number,
  ): Promise<ApprovalConsumeOutcome> {
    const r = this.#records.get(id);
    const outcome = consumeOutcome(r, envelope, nowMs);
    if (outcome === 'ok') r!.status = 'used';
    return outcome;
  }

  async sweep(nowMs: number): Promise<number> {
    let n = 0;
    for (const [id, r] of this.#records) {
      if (r.expiresAtMs + RETAIN_AFTER_EXPIRY_MS <= nowMs) {
        this.#records.delete(id);
        n++;
      } else if (statusAt(r, nowMs) !== r.status) {
        r.status = 'expired';
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {}
}
