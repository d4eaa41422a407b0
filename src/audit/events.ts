/** The event schema lives in src/ports/audit.ts (types only); here: how severe each event is. */
import type { AuditEntry, AuditKind, AuditLevel } from '../ports/audit.ts';

export type { Origin, AuditEntry, AuditKind, AuditLevel } from '../ports/audit.ts';

/**
 * Refusals that look like an attack rather than a mistake: a forged or
 * foreign claim, a replay, a tampered registry, a stolen key's proof.
 */
export const ATTACK_CODES: ReadonlySet<string> = new Set([
  'claim_signature_invalid',
  'claim_algorithm_forbidden',
  'claim_issuer_untrusted',
  'claim_audience_mismatch',
  'claim_malformed',
  'claim_replayed',
  'claim_ttl_too_long',
  'dpop_invalid',
  'tool_mismatch',
  'args_mismatch',
  'credential_leak',
  'registry_invalid',
]);

/** Internal failures: ours, not the caller's. */
const ERROR_CODES: ReadonlySet<string> = new Set([
  'internal',
  'config_invalid',
  'state_unavailable',
  'audit_unavailable',
  'sandbox_failed',
]);

/** Severity that means something: attacks at `warn`, internal failures at `error`, the rest `info`. */
export function levelOf(entry: AuditEntry): AuditLevel {
  const code = 'errorCode' in entry ? entry.errorCode : undefined;
  if (entry.kind === 'audit_recovered') return 'error';
  if (code && ATTACK_CODES.has(code)) return 'warn';
  if (code && ERROR_CODES.has(code)) return 'error';
  if ('outcome' in entry && entry.outcome === 'failed') return 'error';
  return 'info';
}

export const kindOf = (entry: AuditEntry): AuditKind => entry.kind ?? 'call';
