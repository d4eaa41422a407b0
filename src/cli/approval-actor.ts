import type { Actor } from '../broker/approval-rules.ts';
import type { Policy } from '../broker/policy.ts';

/**
 * The CLI's operator: `--by` (default: the config's subject), with the roles
 * the policy's `principals` table gives that name, for any tenant. The CLI
 * runs where the state store and the keys are, so it is the local operator;
 * the approver-role and self-approval rules still apply to it.
 */
export function cliActor(policy: Policy, subject: string): Actor {
  return {
    subject,
    roles: Object.hasOwn(policy.principals, subject) ? [...policy.principals[subject]!] : [],
    tenants: ['*'],
    via: 'cli',
  };
}

/** Said on stderr whenever a decision was a self-approval the policy allows, so it is never silent. */
export function selfApprovalNotice(self: boolean): string {
  return self
    ? 'note: self-approval: you decided your own request; the policy sets allowSelfApproval (dev workspaces only)\n'
    : '';
}
