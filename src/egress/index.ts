/** The egress boundary: allowlisted, address-checked, credential-injecting HTTP for sandboxed tools. */
export { EgressGateway } from './gateway.ts';
export type { EgressEvent, EgressGrant } from './types.ts';
export { EgressError } from './errors.ts';
export { forbiddenReason } from './address-policy.ts';
export { type EgressRule } from './allowlist.ts';
export { type Resolver } from './outbound.ts';
export { startSocketProxy, type SocketProxy } from './socket-proxy.ts';
