/**
 * Credential lanes: short-lived, scoped credentials per run (CONTRACT.md,
 * "credential lane"). The composition root (src/runtime/credentials.ts)
 * builds them from the runner's config.
 */

export { LaneCredentialProvider } from './provider.ts';
export { MintedLane } from './minted.ts';
export { StaticLane } from './static.ts';
export { ExchangeLane } from './exchange.ts';
export { loadRunnerKey, runnerJwks, type RunnerKey } from './runner-key.ts';
export type { CredentialLane } from './lane.ts';
export {
  credentialsConfigSchema,
  laneConfigSchema,
  type CredentialsConfig,
  type LaneConfig,
} from './config.ts';
