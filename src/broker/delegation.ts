import { ToolcageError } from '../errors/toolcage-error.ts';
import { globMatch, type Policy } from './policy.ts';

/** Whom a claim request asks for, when not for its caller (`POST /v1/claims` `onBehalfOf`). */
export interface OnBehalfOf {
  subject: string;
  /** The roles the caller asserts for the subject; default the policy's `principals` entry. */
  roles?: readonly string[] | undefined;
}

/** Who the claim is for, after the delegation check. */
export interface DelegatedSubject {
  sub: string;
  roles: string[];
  /** The caller's delegate roles that allowed it (for the record). */
  grants: string[];
}

/**
 * Decides whether a caller (the actor: its subject and roles from its own
 * credential) may ask claims for another subject, and with which roles. Deny
 * by default: only a role in the policy's `delegates` whose `subjects` match
 * the subject may, and every role it asserts must match that grant's `roles`.
 * A role outside the grant is refused, never silently dropped, so the actor
 * learns its request was not what it meant. The roles then meet the policy as
 * if the subject had asked itself: a delegate cannot get more for a subject
 * than the asserted roles grant, nor assert roles it was not granted.
 */
export function delegatedSubject(
  policy: Pick<Policy, 'delegates' | 'principals'>,
  actor: { subject: string; roles: readonly string[] },
  target: OnBehalfOf,
): DelegatedSubject {
  const grants = actor.roles.filter(
    (r) =>
      Object.hasOwn(policy.delegates, r) &&
      policy.delegates[r]!.subjects.some((g) => globMatch(g, target.subject)),
  );
  if (grants.length === 0)
    throw new ToolcageError('policy_denied', {
      message: `${actor.subject.slice(0, 256)} may not ask claims on behalf of ${target.subject.slice(0, 256)}: none of its roles (${actor.roles.join(', ') || 'none'}) is a delegate for that subject in the broker policy's \`delegates\`. Ask the operator for a delegate role, or ask for a claim for yourself.`,
    });
  const roles =
    target.roles !== undefined
      ? [...new Set(target.roles)]
      : Object.hasOwn(policy.principals, target.subject)
        ? [...policy.principals[target.subject]!]
        : [];
  const outside = roles.filter(
    (role) => !grants.some((g) => policy.delegates[g]!.roles.some((p) => globMatch(p, role))),
  );
  if (outside.length > 0)
    throw new ToolcageError('policy_denied', {
      message: `${actor.subject.slice(0, 256)} may not assert role${outside.length === 1 ? '' : 's'} ${outside.map((r) => r.slice(0, 64)).join(', ')} for another subject: its delegate grant (${grants.join(', ')}) does not list ${outside.length === 1 ? 'it' : 'them'}. Ask the operator to add ${outside.length === 1 ? 'it' : 'them'} to the grant's roles.`,
    });
  return { sub: target.subject, roles, grants };
}
