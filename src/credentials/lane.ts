import type { ClaimPayload } from '../ports/claims.ts';
import type { LaneConfig } from './config.ts';

/** What a lane knows of the run it issues a credential for. */
export interface LaneContext {
  claim: ClaimPayload;
  toolId: string;
  /** The run's deadline (epoch ms); nothing issued for the run should outlive it by more than a small skew. */
  deadlineMs: number;
  invocationId: string;
  /** The scopes the credential may carry: the lane's `scopes` that the claim also grants. */
  scope: string[];
}

/** One run's credential from one lane. */
export interface LaneCredential {
  value: string;
  /** Revokes it where the source supports that (RFC 7009); otherwise it just expires. */
  release?: (() => Promise<void>) | undefined;
}

/**
 * A named source of short-lived credentials. Invariants every kind keeps:
 * the value is issued for one run only; its lifetime is at most the run's
 * deadline plus a small skew where the kind controls it; errors never carry
 * the value (their messages reach the caller).
 */
export interface CredentialLane {
  readonly name: string;
  readonly config: LaneConfig;
  issue(ctx: LaneContext): Promise<LaneCredential>;
}

/** Values shorter than this cannot be scanned for leaks without false positives (see LeakScanner), so lanes refuse them. */
export const MIN_SECRET_LENGTH = 8;
