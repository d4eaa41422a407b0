/**
 * Why the egress boundary refused or failed one request. The message goes
 * back to the tool (it is the tool's error to handle) and into the egress
 * log, so it names hosts and limits and never a header value or a body.
 */
export type EgressErrorKind =
  | 'not_allowed' // host:port not on the tool's allowlist
  | 'address_forbidden' // the name resolved to a private, loopback, link-local or metadata address
  | 'bad_request' // a URL, method, header or body the boundary does not accept
  | 'too_large' // request or response above its cap
  | 'timeout' // past the per-request cap or the run's deadline
  | 'network' // DNS failure, connection refused, TLS failure
  | 'leak' // a credential value of this run in the response, or on its way to another host
  | 'limit' // too many requests in this run
  | 'closed'; // the run is over

export class EgressError extends Error {
  override readonly name = 'EgressError';
  readonly kind: EgressErrorKind;

  constructor(kind: EgressErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
