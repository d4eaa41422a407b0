/**
 * The contract's error codes (shared/CONTRACT.md, "Errors"), in one place.
 *
 * Each entry fixes the HTTP status, whose fault it is (`client`: the caller
 * can fix the request; `server`: ours or the tool's), and the public message
 * a person reads. The `ErrorCode` union is derived from this table so a code
 * cannot exist in one place and not the other; `test/errors/catalogue.test.ts`
 * keeps this table, the README's table and the HTTP mapping in step.
 */
export const ERROR_CATALOGUE = {
  claim_missing: {
    status: 401,
    fault: 'client',
    message:
      'No claim was presented. Ask the broker for a claim for this tool and these arguments, and send it as a Bearer token.',
  },
  claim_malformed: {
    status: 401,
    fault: 'client',
    message:
      'The claim is not a compact JWS with all required fields. Mint a fresh claim with the broker.',
  },
  claim_algorithm_forbidden: {
    status: 401,
    fault: 'client',
    message:
      'The claim is signed with a forbidden algorithm. Only ES256 and EdDSA claims from the broker are accepted.',
  },
  claim_signature_invalid: {
    status: 401,
    fault: 'client',
    message:
      'The claim signature does not verify against any trusted broker key. Mint a fresh claim with the broker.',
  },
  claim_issuer_untrusted: {
    status: 401,
    fault: 'client',
    message: 'The claim was issued by an issuer this runner does not trust.',
  },
  claim_audience_mismatch: {
    status: 401,
    fault: 'client',
    message:
      'The claim is not addressed to this runner (audience mismatch). Ask the broker for a claim with this runner as audience.',
  },
  claim_expired: {
    status: 401,
    fault: 'client',
    message: 'The claim has expired. Mint a fresh claim with the broker.',
  },
  claim_not_yet_valid: {
    status: 401,
    fault: 'client',
    message: 'The claim is not valid yet (nbf/iat in the future). Check clocks, or wait.',
  },
  claim_ttl_too_long: {
    status: 401,
    fault: 'client',
    message:
      'The claim lifetime exceeds the maximum this runner accepts. Mint a claim with a shorter TTL.',
  },
  claim_state_lost: {
    status: 401,
    fault: 'client',
    message:
      "The runner's shared state restarted after this claim was issued, so it cannot tell whether the claim was used. Ask the broker for a new claim.",
  },
  claim_replayed: {
    status: 409,
    fault: 'client',
    message:
      'This claim has already been used. Claims are single-use: mint a fresh claim for each call.',
  },
  dpop_invalid: {
    status: 401,
    fault: 'client',
    message:
      'The claim is bound to a key (cnf.jkt) and no valid DPoP proof for this request was presented.',
  },
  tool_not_allowed: {
    status: 404,
    fault: 'client',
    message: 'The tool is not in the registry allowlist.',
  },
  tool_mismatch: {
    status: 403,
    fault: 'client',
    message:
      'The claim was minted for a different tool. Mint a claim for the tool you are calling.',
  },
  scope_insufficient: {
    status: 403,
    fault: 'client',
    message: 'The claim scope does not cover every scope this tool requires.',
  },
  args_mismatch: {
    status: 403,
    fault: 'client',
    message:
      'The arguments do not match the args_hash the claim was minted for. Mint a claim for exactly these arguments.',
  },
  approval_required: {
    status: 403,
    fault: 'client',
    message:
      'This is a high-risk tool: a human approval for exactly this call is required. Ask a human for one, then mint a claim carrying its id.',
  },
  approval_expired: {
    status: 410,
    fault: 'client',
    message:
      'The approval request expired before anybody approved it, so the call did not run. Call the tool again to open a new request.',
  },
  input_invalid: {
    status: 422,
    fault: 'client',
    message: 'The arguments do not match the tool input schema.',
  },
  rate_limited: {
    status: 429,
    fault: 'client',
    message: 'Rate limit reached. Retry after the indicated delay.',
  },
  quota_exceeded: {
    status: 429,
    fault: 'client',
    message:
      'The tenant spend cap for this window is reached. Retry when the window resets or raise the cap.',
  },
  session_paused: {
    status: 423,
    fault: 'client',
    message:
      'This session is paused by its circuit breaker after repeated refusals or failures. A human must resume it.',
  },
  loop_detected: {
    status: 429,
    fault: 'client',
    message:
      'The same call was repeated too many times in a short window (loop guard). Change the arguments or wait for the window to pass.',
  },
  output_invalid: {
    status: 502,
    fault: 'server',
    message: 'The tool output does not match its output schema; it was withheld.',
  },
  output_too_large: {
    status: 502,
    fault: 'server',
    message: 'The tool output exceeded its maxOutputBytes limit; it was withheld.',
  },
  credential_leak: {
    status: 502,
    fault: 'server',
    message: 'The tool output carried an injected credential; it was withheld.',
  },
  timeout: {
    status: 504,
    fault: 'server',
    message: 'The tool run exceeded its time limit and was stopped.',
  },
  memory_limit: {
    status: 502,
    fault: 'server',
    message: 'The tool run exceeded its memory limit and was stopped.',
  },
  sandbox_unavailable: {
    status: 503,
    fault: 'server',
    message: 'The sandbox backend for this tool is not available. Retry later or ask the operator.',
  },
  sandbox_failed: {
    status: 502,
    fault: 'server',
    message: 'The tool crashed or broke its protocol.',
  },
  // Extensions beyond the contract's table (documented in the README).
  state_unavailable: {
    status: 503,
    fault: 'server',
    message:
      'Shared state (replay store, governors) is unreachable; the runner fails closed. Retry later.',
  },
  broker_unavailable: {
    status: 503,
    fault: 'server',
    message:
      'The broker service that mints claims is unreachable or failed; nothing ran. Retry later or ask the operator.',
  },
  audit_unavailable: {
    status: 503,
    fault: 'server',
    message:
      'The audit trail cannot record this decision, so it was refused (fail closed). Retry later or ask the operator.',
  },
  policy_denied: {
    status: 403,
    fault: 'client',
    message: 'The broker policy does not allow this request.',
  },
  unauthenticated: {
    status: 401,
    fault: 'client',
    message: 'The caller is not authenticated. Present a valid identity token or API key.',
  },
  request_invalid: { status: 400, fault: 'client', message: 'The request is malformed.' },
  not_found: { status: 404, fault: 'client', message: 'No such route or resource.' },
  task_not_found: {
    status: 404,
    fault: 'client',
    message:
      'No such MCP task for this identity: it never existed, has expired, or belongs to another identity. Call the tool again to get a new task.',
  },
  payload_too_large: {
    status: 413,
    fault: 'client',
    message: 'The request body is larger than this service accepts. Send smaller arguments.',
  },
  unsupported_media_type: {
    status: 415,
    fault: 'client',
    message: 'The request body must be JSON: send Content-Type: application/json.',
  },
  method_not_allowed: {
    status: 405,
    fault: 'client',
    message: 'This route does not accept that method; see the Allow header.',
  },
  request_timeout: {
    status: 408,
    fault: 'client',
    message: 'The request was not received in time. Send the headers and body promptly.',
  },
  request_headers_too_large: {
    status: 431,
    fault: 'client',
    message:
      'The request headers are larger than this service accepts. Send fewer or shorter headers.',
  },
  task_interrupted: {
    status: 500,
    fault: 'server',
    message:
      'The replica running this approved call stopped before it finished. Check the audit trail for the approval before calling again.',
  },
  registry_invalid: {
    status: 500,
    fault: 'server',
    message: 'The tool registry failed verification; nothing is loaded from it.',
  },
  config_invalid: { status: 500, fault: 'server', message: 'The configuration is invalid.' },
  internal: { status: 500, fault: 'server', message: 'An internal error occurred.' },
} as const satisfies Record<
  string,
  { status: number; fault: 'client' | 'server'; message: string }
>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The codes the contract itself lists, in its order (the rest are our extensions). */
export const CONTRACT_CODES = [
  'claim_missing',
  'claim_malformed',
  'claim_algorithm_forbidden',
  'claim_signature_invalid',
  'claim_issuer_untrusted',
  'claim_audience_mismatch',
  'claim_expired',
  'claim_not_yet_valid',
  'claim_ttl_too_long',
  'claim_replayed',
  'dpop_invalid',
  'tool_not_allowed',
  'tool_mismatch',
  'scope_insufficient',
  'args_mismatch',
  'approval_required',
  'input_invalid',
  'rate_limited',
  'quota_exceeded',
  'loop_detected',
  'output_invalid',
  'output_too_large',
  'credential_leak',
  'timeout',
  'memory_limit',
  'sandbox_unavailable',
  'sandbox_failed',
] as const satisfies readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}
