/** The egress boundary: allowlisted, address-checked, credential-injecting HTTP for sandboxed tools. */
export { EgressGateway, type EgressEvent, type EgressGrant } from './gateway.ts';
export { EgressError } from './errors.ts';
export { forbiddenReason } from './address-policy.ts';
export { type EgressRule } from './allowlist.ts';
export { type Resolver } from './outbound.ts';
export { startSocketProxy, type SocketProxy } from './socket-proxy.ts';
