/** The egress boundary: allowlisted, address-checked, credential-injecting HTTP for sandboxed tools. */
export {
  EgressGateway,
  EgressSession,
  DEFAULT_EGRESS_LIMITS,
  type EgressEvent,
  type EgressGatewayOptions,
  type EgressGrant,
  type EgressLimits,
  type EgressRequest,
  type EgressResponse,
} from './gateway.ts';
export { EgressError, type EgressErrorKind } from './errors.ts';
export { AddressPolicy, forbiddenReason, type PrivateAddressAllowance } from './address-policy.ts';
export { Allowlist, normaliseHost, type EgressRule } from './allowlist.ts';
export { isLoopbackLiteral, type LaneHost } from './lane-host.ts';
export { normaliseAddress, type NormalAddress } from './ip-normalise.ts';
export { systemResolver, type Resolver, type ResolvedAddress } from './outbound.ts';
export { startSocketProxy, CONTAINER_SOCKET_PATH, type SocketProxy } from './socket-proxy.ts';
