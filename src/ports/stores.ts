import type { Admission } from './admission.ts';
import type { ClaimId } from './claims.ts';

export type { ClaimId } from './claims.ts';
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
  /**
   * `iat` (seconds), when given, lets a store refuse a claim issued before it
   * may have lost its memory (a Redis that restarted empty: `claim_state_lost`).
   */
  consume(id: ClaimId, expiresAtMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Human approvals for high-risk calls. An approval request is bound to one
 * envelope (tool, subject, tenant, args hash and session), stores the exact
 * arguments so a human sees what they approve, expires, and is consumed once
 * by the runner, atomically, across every process sharing the store.
 */
export interface ApprovalEnvelope {
  tool: string;
  sub: string;
  tenant: string;
  argsHash: string;
  /** The session the call is made in (the claim's `sid`), if any. */
  session?: string | undefined;
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
  /** The approver let this approval be used in any session, not only in `session`. */
  anySession?: boolean;
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
   * denied, and unexpired; same session unless the request allows any), or
   * `record` stored as new. Two callers at once, on any process sharing the
   * store, get the same request.
   */
  open(record: ApprovalRecord, nowMs: number): Promise<OpenedApproval>;
  get(id: string, nowMs?: number): Promise<ApprovalRecord | undefined>;
  list(filter: ApprovalFilter, nowMs: number): Promise<ApprovalRecord[]>;
  /**
   * Approve or deny a pending, unexpired request; false when it is not.
   * `anySession` lets an approval be used in any session, not only its own.
   */
  decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
    reason?: string,
    anySession?: boolean,
  ): Promise<boolean>;
  /** Marks an approved, unexpired approval for exactly this envelope as used. */
  consume(id: string, envelope: ApprovalEnvelope, nowMs: number): Promise<ApprovalConsumeOutcome>;
  /** Marks pending/approved requests past their expiry as expired and drops old records; returns how many changed. */
  sweep(nowMs: number): Promise<number>;
  close(): Promise<void>;
}

/** When a session trips: `maxFailures` refusals or failures within `windowSeconds` (sliding). */
export interface BreakerRule {
  maxFailures: number;
  windowSeconds: number;
}

export interface SessionPause {
  pausedAtMs: number;
  /** The error code of the failure that tripped the breaker. */
  reason: string;
}

/**
 * Where breaker state lives: SQLite (one machine, every process) or Redis
 * (every replica). Keys are `tenantKey(tenant, 'session', sid)`, so one
 * tenant's session can never pause another's.
 */
export interface SessionBreakerStore {
  paused(key: string): Promise<SessionPause | undefined>;
  /** Records one failure at `nowMs`; true when the session is paused (now or before). */
  fail(key: string, nowMs: number, rule: BreakerRule, reason: string): Promise<boolean>;
  /** Resumes a paused session and forgets its failures; false when it was not paused. */
  resume(key: string): Promise<boolean>;
  /** Read-only, for operators: paused sessions (of one tenant's keys when `tenant` is given), at most `limit`. */
  listPaused?(query: {
    tenant?: string | undefined;
    limit: number;
  }): Promise<Array<SessionPause & { key: string }>>;
}

/** What a console sign-in leaves in the state store: never the credential, never the cookie's id. */
export interface ConsoleSessionRecord {
  principal: {
    subject: string;
    roles: string[];
    tenants: string[];
    defaultTenant: string;
    via: string;
  };
  createdAtMs: number;
  lastSeenMs: number;
  /** The credential's own expiry (an identity token's `exp`), if it has one. */
  notAfterMs?: number | undefined;
}

/**
 * Console sign-in sessions, shared by every broker replica using the store.
 * Keys are digests of the cookie's random id (the id itself is never
 * stored), and every record expires at `expiresAtMs` on its own.
 */
export interface ConsoleSessionStore {
  put(key: string, record: ConsoleSessionRecord, expiresAtMs: number): Promise<void>;
  get(key: string, nowMs: number): Promise<ConsoleSessionRecord | undefined>;
  delete(key: string): Promise<void>;
}

/** Every store that protects a call, from one configuration choice. */
export interface StateStores {
  kind: string;
  replay: ReplayStore;
  approvals: ApprovalStore;
  governors: GovernorStores;
  /** Session circuit-breaker state (shared like approvals: SQLite file or Redis). */
  sessions: SessionBreakerStore;
  /** Console sign-in sessions (SQLite file or Redis); absent: each console keeps its own in memory. */
  consoleSessions?: ConsoleSessionStore;
  /** Replay + governors: in sequence (embedded stores) or in one step (Redis). */
  admission: Admission;
  /** Whether the stores can decide right now (Redis: answers PING). Absent for embedded stores, usable while open. */
  health?(): Promise<{ usable: boolean; detail: string }>;
  close(): Promise<void>;
}
