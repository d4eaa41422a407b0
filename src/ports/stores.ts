import type { Admission } from './admission.ts';
import type { GovernorStores } from './governors.ts';

/**
 * Single-use claim ids. `consume` is atomic: of any number of concurrent
 * calls with the same (iss, jti), across every process sharing the store,
 * exactly one gets `true`. Keyed on the validated claim's iss and jti, never
 * on the raw token string (two encodings of one claim are one claim).
 * Entries are remembered until `expiresAtMs` (the claim's exp + tolerance).
 */
export interface ReplayStore {
  readonly kind: string;
  consume(id: { iss: string; jti: string }, expiresAtMs: number): Promise<boolean>;
  close(): Promise<void>;
}

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

/** Every store that protects a call, from one configuration choice. */
export interface StateStores {
  kind: string;
  replay: ReplayStore;
  approvals: ApprovalStore;
  governors: GovernorStores;
  /** Replay + governors: in sequence (embedded stores) or in one step (Redis). */
  admission: Admission;
  /** Whether the stores can decide right now (Redis: answers PING). Absent for embedded stores, usable while open. */
  health?(): Promise<{ usable: boolean; detail: string }>;
  close(): Promise<void>;
}
