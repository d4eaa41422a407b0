/**
 * Human approvals for high-risk calls. An approval is bound to one envelope
 * (tool, subject, tenant, args hash), expires, and is consumed once by the
 * runner, atomically, across every process sharing the store.
 */
export interface ApprovalEnvelope {
  tool: string;
  sub: string;
  tenant: string;
  argsHash: string;
  /** The session the call is made in (the claim's `sid`), if any. */
  session?: string | undefined;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used';

export interface ApprovalRecord extends ApprovalEnvelope {
  id: string;
  status: ApprovalStatus;
  createdAtMs: number;
  expiresAtMs: number;
  /** Who approved or denied (a person's id), when decided. */
  decidedBy?: string;
  reason?: string;
  /** The approver let this approval be used in any session, not only in `session`. */
  anySession?: boolean;
}

/** Why a consume failed; each maps to an actionable `approval_required` message. */
export type ApprovalConsumeOutcome =
  'ok' | 'missing' | 'mismatch' | 'expired' | 'used' | 'pending' | 'denied';

export interface ApprovalStore {
  create(record: ApprovalRecord): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** Approve or deny a pending request; false when it is not pending. */
  decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
  ): Promise<boolean>;
  /** Marks an approved, unexpired approval for exactly this envelope as used. */
  consume(id: string, envelope: ApprovalEnvelope, nowMs: number): Promise<ApprovalConsumeOutcome>;
  close(): Promise<void>;
}

/**
 * `record` was given for the call `b`: same tool, subject, tenant and
 * arguments, and the same session (none matching none) unless the approver
 * allowed any session.
 */
function sameEnvelope(record: ApprovalRecord, b: ApprovalEnvelope): boolean {
  return (
    record.tool === b.tool &&
    record.sub === b.sub &&
    record.tenant === b.tenant &&
    record.argsHash === b.argsHash &&
    (record.anySession === true || (record.session ?? null) === (b.session ?? null))
  );
}

/** Why an approval record cannot be consumed for `envelope` now, or 'ok'. Shared by every store. */
export function consumeOutcome(
  record: ApprovalRecord | undefined,
  envelope: ApprovalEnvelope,
  nowMs: number,
): ApprovalConsumeOutcome {
  if (!record) return 'missing';
  if (!sameEnvelope(record, envelope)) return 'mismatch';
  if (record.status !== 'approved') return record.status;
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

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const r = this.#records.get(id);
    return r ? { ...r } : undefined;
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
  ): Promise<boolean> {
    const r = this.#records.get(id);
    if (!r || r.status !== 'pending' || r.expiresAtMs <= nowMs) return false;
    r.status = decision;
    r.decidedBy = decidedBy;
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

  async close(): Promise<void> {}
}
