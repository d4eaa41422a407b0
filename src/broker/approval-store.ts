import type {
  ApprovalConsumeOutcome,
  ApprovalEnvelope,
  ApprovalFilter,
  ApprovalRecord,
  ApprovalStatus,
  ApprovalStore,
  OpenedApproval,
} from '../ports/stores.ts';

export type {
  ApprovalConsumeOutcome,
  ApprovalEnvelope,
  ApprovalFilter,
  ApprovalRecord,
  ApprovalStatus,
  ApprovalStore,
  OpenedApproval,
} from '../ports/stores.ts';

/**
Human approvals for high-risk calls: the interfaces are in src/ports/stores.ts;
 * these helpers give every store the same answers.
 */

/** How long a finished record stays listable after it expires. */
export const RETAIN_AFTER_EXPIRY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_LIST_LIMIT = 200;
export const MAX_LIST_LIMIT = 1000;

/**
 * `record` was given for the call `b`: same tool, subject, tenant and
 * arguments, and the same session (none matching none) unless the approver
 * allowed any session.
 */
export function sameEnvelope(record: ApprovalRecord, b: ApprovalEnvelope): boolean {
  return (
    record.tool === b.tool &&
    record.sub === b.sub &&
    record.tenant === b.tenant &&
    record.argsHash === b.argsHash &&
    (record.anySession === true || (record.session ?? null) === (b.session ?? null))
  );
}

/**
 * `a` is the request for `b`'s envelope, session included: `open` gives each
 * session its own request (an any-session approval widens only its use).
 */
export function sameRequest(a: ApprovalEnvelope, b: ApprovalEnvelope): boolean {
  return (
    a.tool === b.tool &&
    a.sub === b.sub &&
    a.tenant === b.tenant &&
    a.argsHash === b.argsHash &&
    (a.session ?? null) === (b.session ?? null)
  );
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
      .filter((r) => sameRequest(r, record) && isLive(r, nowMs))
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
    anySession?: boolean,
  ): Promise<boolean> {
    const r = this.#records.get(id);
    if (!r || r.status !== 'pending' || r.expiresAtMs <= nowMs) return false;
    r.status = decision;
    r.decidedBy = decidedBy;
    r.decidedAtMs = nowMs;
    if (reason !== undefined) r.reason = reason;
    if (anySession) r.anySession = true;
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
