import { ToolcageError } from '../errors/toolcage-error.ts';

/** Stands in a tenant list for "every tenant": only where the operator wrote it explicitly. */
export const ANY_TENANT = '*';

/**
 * Who calls, after authentication, for every inbound edge (broker HTTP, MCP
 * HTTP, the console). The tenants a principal may act for come from its
 * credential (API key record, identity-token claim) or the config, never from
 * the request: a request may only pick one of them.
 */
export interface Principal {
  subject: string;
  roles: string[];
  /** The tenants this principal may act for; `['*']` (written by the operator) means any. Never empty. */
  tenants: string[];
  /** The tenant a request that names none acts in: the first listed, or the config's tenant for `['*']`. */
  defaultTenant: string;
  /** How the caller authenticated, for logs and audit (`oidc` or `api_key:<id>`). */
  via: string;
}

/** A verified bearer token: the principal, and what the MCP edge needs of the token itself. */
export interface VerifiedToken {
  principal: Principal;
  /** `exp`, in seconds since the epoch. */
  expiresAt: number;
  scopes: string[];
  clientId: string;
}

export function actsForAnyTenant(principal: Principal): boolean {
  return principal.tenants.includes(ANY_TENANT);
}

export function mayActFor(principal: Principal, tenant: string): boolean {
  return actsForAnyTenant(principal) || principal.tenants.includes(tenant);
}

/**
 * The tenant a request acts in: the one it names, if the principal may act for
 * it, else the principal's default. Naming another tenant is refused, never
 * silently replaced, so a caller learns its request was not what it meant.
 */
export function tenantFor(principal: Principal, requested: string | undefined): string {
  if (requested === undefined) return principal.defaultTenant;
  if (mayActFor(principal, requested)) return requested;
  const allowed = principal.tenants.map((t) => t.slice(0, 128)).join(', ');
  throw new ToolcageError('policy_denied', {
    message: `Your credential is for tenant ${allowed}; you cannot act for tenant ${requested.slice(0, 128)}. Ask the operator to add it to your credential's tenants.`,
  });
}
