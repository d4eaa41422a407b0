import { z } from 'zod';

/** The claim payload (shared/CONTRACT.md, "Claim"), after signature verification. */
export const claimPayloadSchema = z.object({
  iss: z.string().min(1),
  sub: z.string().min(1).max(256),
  aud: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(8).max(128),
  tool: z.string().min(1).max(200),
  scope: z.array(z.string().min(1).max(200)).max(100),
  args_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" + 64 hex digits'),
  tenant: z.string().min(1).max(128),
  approval_id: z.string().min(1).max(128).optional(),
  cnf: z.object({ jkt: z.string().min(1).max(128) }).optional(),
  /** The session (agent conversation or run) the claim was minted in. */
  sid: z.string().min(1).max(128).optional(),
  /** The decision record: policy set hash and the ids of the rules that decided. */
  pol: z
    .object({ h: z.string().min(1).max(80), ids: z.array(z.string().min(1).max(200)).max(50) })
    .optional(),
});

export type { ClaimPayload, VerifiedClaim } from '../ports/claims.ts';
