import type { ClaimPayload } from './claims.ts';
import type { RunCredential } from './sandbox.ts';
import type { LoadedTool } from './tool.ts';

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
