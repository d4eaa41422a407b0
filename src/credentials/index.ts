/**
 * Credential lanes: short-lived, scoped credentials per run (CONTRACT.md,
 * "credential lane"). The composition root (src/runtime/credentials.ts)
 * builds them from the runner's config.
 */

export { LaneCredentialProvider } from './provider.ts';
export { MintedLane, mintToken } from './minted.ts';
export { StaticLane } from './static.ts';
export { ExchangeLane } from './exchange.ts';
export { loadRunnerKey, runnerJwks, type RunnerKey } from './runner-key.ts';
export type { CredentialLane, LaneContext, LaneCredential } from './lane.ts';
export {
  credentialsConfigSchema,
  egressConfigSchema,
  laneConfigSchema,
  type CredentialsConfig,
  type EgressConfig,
  type LaneConfig,
} from './config.ts';
