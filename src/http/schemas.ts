import { z } from 'zod';

/** Request bodies of the HTTP services, parsed with these and published in the OpenAPI document. */
const id = z.string().min(1).max(200);

export const claimBody = z.strictObject({
  tool: id,
  args: z.unknown(),
  tenant: z.string().min(1).max(128).optional(),
  scope: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
  approvalId: z.string().min(1).max(128).optional(),
  /** Ask for another subject (a delegate such as `toolcage mcp`): allowed by the policy's `delegates` only. */
  onBehalfOf: z
    .strictObject({
      subject: z.string().min(1).max(256),
      roles: z.array(z.string().min(1).max(200)).max(100).optional(),
    })
    .optional(),
  // No upper bound here: every over-long TTL, however large (1e400 parses as Infinity), gets the
  // policy's one answer (policy_denied 403), not a 400 or a 403 depending on its size.
  ttlSeconds: z
    .custom<number>((v) => typeof v === 'number' && v > 0, 'expected a positive number of seconds')
    .optional(),
});

export const approvalBody = z.strictObject({
  tool: id,
  args: z.unknown(),
  tenant: z.string().min(1).max(128).optional(),
});

const subject = z.string().min(1).max(256);
const roles = z.array(z.string().min(1).max(200)).max(100);

/**
 * `POST /v1/policy/explain`: the call to explain (`toolcage policy explain`'s
 * flags). `sub`/`roles`: who calls (default: the caller itself); `action:
 * "approve"` asks whether `approver` (default: the caller) may approve it.
 */
export const explainBody = z.strictObject({
  tool: id,
  args: z.unknown(),
  sub: subject.optional(),
  roles: roles.optional(),
  tenant: z.string().min(1).max(128).optional(),
  session: z.string().min(1).max(128).optional(),
  action: z.enum(['call', 'approve']).optional(),
  approver: subject.optional(),
  approverRoles: roles.optional(),
});

/** `POST /v1/tools/{id}/invoke`: only `args` (checked by `objectBody`). */
export const invokeBody = z.strictObject({ args: z.unknown() });
