/**
 * Governors: the runner's brakes on runaway agents. Each decision is atomic
 * in its store so that replicas sharing one store (Redis) see one budget.
 * Stores fail closed: an unreachable store throws `state_unavailable`.
 */

export interface TokenBucketRule {
  /** Bucket size: how many calls may burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export interface RateDecision {
  allowed: boolean;
  /** When refused: seconds until one token is available. */
  retryAfterSeconds: number;
}

export interface RateLimitStore {
  /** Take `cost` tokens from bucket `key` (created full on first use) at time `nowMs`. */
  take(key: string, rule: TokenBucketRule, nowMs: number, cost?: number): Promise<RateDecision>;
}

export interface SpendDecision {
  allowed: boolean;
  spent: number;
  /** Seconds until the current window resets. */
  retryAfterSeconds: number;
}

export interface SpendStore {
  /** Charge `cost` to `key` in the fixed window of `windowSeconds` containing `nowMs`, unless that passes `budget`. */
  charge(
    key: string,
    cost: number,
    budget: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<SpendDecision>;
}

export interface LoopDecision {
  allowed: boolean;
  count: number;
  retryAfterSeconds: number;
}

export interface LoopStore {
  /** Count one more identical call under `key` in a sliding window; refuse once the count passes `maxRepeats`. */
  hit(key: string, maxRepeats: number, windowSeconds: number, nowMs: number): Promise<LoopDecision>;
}

/** The three stores the governors decide with; all in memory, or all shared (Redis). */
export interface GovernorStores {
  /** `memory` or `redis`: shows in readiness so operators see whether state is shared. */
  readonly kind: string;
  rate: RateLimitStore;
  spend: SpendStore;
  loop: LoopStore;
  /** One atomic step for a whole call (see GovernorPlanStore); without it the stores are asked one by one. */
  plan?: GovernorPlanStore;
  /**
   * Read-only: the state the stores hold now (for operators: the console's
   * Governors page, `GET /v1/governors`). Absent where a store cannot report.
   */
  snapshot?(query: GovernorSnapshotQuery): Promise<GovernorSnapshot>;
}

export interface GovernorSnapshotQuery {
  /** The caller's clock, as for every decision (memory entries past their expiry are left out). */
  nowMs: number;
  /** Only this tenant's keys. */
  tenant?: string | undefined;
  /** Stop after this many entries (default 1000): reading state must never stall a store. */
  limit?: number | undefined;
}

/**
 * One governor key as its store holds it. Keys are the governors' own
 * (`tenantKey(...)`, see governors/keys.ts); the limits they are held to come
 * from configuration, so the report joins them there (governors/report.ts).
 */
export type GovernorStateEntry =
  /** A token bucket: `tokens` as of `updatedAtMs` (it refills from then on). */
  | { kind: 'bucket'; key: string; tokens: number; updatedAtMs: number }
  /** A fixed-window counter (tenant spend, session spend and calls). */
  | { kind: 'window'; key: string; spent: number; windowStartMs: number }
  /** A loop-guard window: the times of the recorded identical calls. */
  | { kind: 'loop'; key: string; hitsMs: number[] };

export interface GovernorSnapshot {
  entries: GovernorStateEntry[];
  /** More keys existed than `limit`; the entries are a partial view. */
  truncated: boolean;
}

/** Every governor decision of one call, for stores that can make them in one atomic step. */
export interface GovernorPlan {
  nowMs: number;
  loop?: { key: string; maxRepeats: number; windowSeconds: number };
  /** In order; the first that refuses names itself. */
  buckets: { limit: 'principal' | 'tool' | 'tenant'; key: string; rule: TokenBucketRule }[];
  spend?: { key: string; cost: number; budget: number; windowSeconds: number };
  /** Per-session caps, charged after everything else allowed the call (each charge atomic in its store). */
  session?: Array<{
    limit: 'session_spend' | 'session_calls';
    key: string;
    cost: number;
    budget: number;
    windowSeconds: number;
  }>;
}

/** The outcome of a plan: the first refusal, with the same facts the single-store decisions give. */
export type GovernorVerdict =
  | { refused: undefined }
  | { refused: 'loop'; retryAfterSeconds: number; count: number }
  | { refused: 'principal' | 'tool' | 'tenant'; retryAfterSeconds: number }
  | { refused: 'spend'; retryAfterSeconds: number; spent: number }
  | { refused: 'session_spend' | 'session_calls'; retryAfterSeconds: number; spent: number };

/**
 * Optional on `GovernorStores`: decide a whole plan in one step, in the same
 * order and with the same rules as the single stores (loop guard, buckets,
 * spend; a refused step leaves the later ones untouched). Shared stores use
 * it to make one round trip per call instead of five.
 */
export interface GovernorPlanStore {
  decideAll(plan: GovernorPlan): Promise<GovernorVerdict>;
}
