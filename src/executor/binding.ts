import { ToolcageError } from '../errors/toolcage-error.ts';
import { consumeOutcome } from '../broker/approval-store.ts';
import type { ClaimPayload } from '../ports/claims.ts';
import type { ExecuteCall } from '../ports/execute.ts';
import type { ApprovalConsumeOutcome, ApprovalStore } from '../ports/stores.ts';
import type { LoadedTool } from '../ports/tool.ts';
import { argsHashOfCanonical, canonicalJson } from '../util/hash.ts';
import { checkRenderedScopes } from './scope-check.ts';
import type { Trail } from './trail.ts';

/** Binds the verified claim to this call. Returns the args hash. */
export async function bindClaim(
  call: ExecuteCall,
  tool: LoadedTool,
  claim: ClaimPayload,
  trail: Trail,
  approvals: { store: ApprovalStore; now: () => number },
): Promise<string> {
  const m = tool.manifest;
  if (claim.tool !== m.id)
    throw new ToolcageError('tool_mismatch', {
      message: `The claim was minted for "${claim.tool.slice(0, 200)}", not "${m.id}". Mint a claim for the tool you are calling.`,
    });
  const granted = new Set(claim.scope);
  const missing = [...m.scopes, ...m.credentials.flatMap((c) => c.scopes)].filter(
    (s) => !granted.has(s),
  );
  if (missing.length > 0) {
    throw new ToolcageError('scope_insufficient', {
      message: `The claim scope lacks ${[...new Set(missing)].join(', ')}, which ${m.id} requires.`,
      details: { missing: [...new Set(missing)] },
    });
  }
  trail.renderedScope = checkRenderedScopes(tool, claim, call.args);
  let hash: string;
  try {
    trail.canonicalArgs = canonicalJson(call.args ?? null, 'args');
    hash = argsHashOfCanonical(trail.canonicalArgs);
  } catch (err) {
    // Name the field (e.g. `args.n is a number too large for JSON`) when canonicalisation knows it.
    const field = err instanceof ToolcageError ? err.details?.field : undefined;
    throw new ToolcageError('input_invalid', {
      message:
        err instanceof ToolcageError && typeof field === 'string'
          ? err.message
          : 'The arguments are not a JSON value that can be canonicalised (RFC 8785).',
      ...(typeof field === 'string' ? { details: { field } } : {}),
    });
  }
  if (hash !== claim.args_hash) throw new ToolcageError('args_mismatch');
  if (m.risk === 'high' || claim.approval_id !== undefined) {
    if (!claim.approval_id) throw new ToolcageError('approval_required');
    // Peek now so a missing approval is refused before governors charge the call;
    // the atomic consume happens right before the run.
    const outcome = consumeOutcome(
      await approvals.store.get(claim.approval_id),
      approvalEnvelope(m.id, claim, hash),
      approvals.now(),
    );
    if (outcome !== 'ok') throw approvalRefusal(outcome);
  }
  return hash;
}

export function approvalEnvelope(tool: string, claim: ClaimPayload, argsHash: string) {
  return { tool, sub: claim.sub, tenant: claim.tenant, argsHash, session: claim.sid };
}

export function approvalRefusal(outcome: ApprovalConsumeOutcome): ToolcageError {
  const why: Record<Exclude<ApprovalConsumeOutcome, 'ok'>, string> = {
    missing: 'The approval id in the claim is unknown.',
    mismatch: 'The approval was given for a different tool, subject, tenant, arguments or session.',
    expired: 'The approval has expired.',
    used: 'The approval was already used; approvals are single-use.',
    pending: 'The approval request is still pending; a human must approve it first.',
    denied: 'The approval request was denied.',
  };
  return new ToolcageError('approval_required', {
    message: `${why[outcome as Exclude<ApprovalConsumeOutcome, 'ok'>]} Ask a human to approve exactly this call, then mint a claim carrying the new approval id.`,
    hint: 'request_approval',
  });
}
