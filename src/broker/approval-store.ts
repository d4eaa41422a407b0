import type {
  ApprovalConsumeOutcome,
  ApprovalEnvelope,
  ApprovalRecord,
  ApprovalStore,
} from '../ports/stores.ts';

export type {
  ApprovalConsumeOutcome,
  ApprovalEnvelope,
  ApprovalRecord,
  ApprovalStore,
} from '../ports/stores.ts';

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
