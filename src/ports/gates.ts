import type { GovernorPlan, GovernorVerdict } from './governors.ts';
import type { RunCredential } from './sandbox.ts';
import type { ClaimPayload } from '../claims/claim.ts';
import type { LoadedTool } from '../registry/registry.ts';

export interface GovernedCall {
  principal: string;
  tenant: string;
  toolId: string;
  argsHash: string;
  cost: number;
}

/** The governors as the executor sees them (rate, spend, loop: src/governors). */
export interface GovernorGate {
  check(call: GovernedCall): Promise<void>;
  /** What `check` would ask of the stores, for an AdmissionStep to decide in one go. */
  plan?(call: GovernedCall): GovernorPlan;
  /** The contract error for a refused plan. */
  refusal?(verdict: Exclude<GovernorVerdict, { refused: undefined }>, cost: number): Error;
}

/**
 * Optional, for shared state: consume a claim id and decide the governors'
 * plan in one atomic step (one round trip instead of two). A replayed claim
 * is `'replayed'` and charges nothing, exactly as the two steps in a row.
 */
export interface AdmissionStep {
  admit(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    plan: GovernorPlan,
  ): Promise<'replayed' | GovernorVerdict>;
}

/** Bounded concurrency per tenant under a global cap (src/governors/concurrency). */
export interface ConcurrencyGate {
  run<T>(tenant: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** Proof-of-possession check for claims bound by `cnf.jkt` (RFC 9449); throws `dpop_invalid`. */
export type DpopVerifier = (input: {
  proof: string;
  htm: string;
  htu: string;
  jkt: string;
  claim: string;
}) => Promise<void>;

/** Credentials for one run: handed to the sandbox, scanned for in the output, revoked after. */
export interface CredentialLease {
  /** Lane names, for the audit line (never values). */
  lanes: string[];
  /** What the sandbox may see (exposed lanes). */
  credentials: RunCredential[];
  /** Every secret value of this run, for the leak scan. */
  secrets: string[];
  release(): Promise<void>;
}

export interface CredentialProvider {
  /** Leases the tool's lanes for one run ending at `deadlineMs`; throws `scope_insufficient` when the claim does not cover a lane. */
  lease(
    claim: ClaimPayload,
    tool: LoadedTool,
    deadlineMs: number,
    invocationId: string,
  ): Promise<CredentialLease>;
}
