/** Governors: rate limits, spend caps, loop guard, concurrency. */
export { Governors, type GovernorCheck, type GovernorsOptions } from './governors.ts';
export {
  governorsConfigSchema,
  parseGovernorsConfig,
  GOVERNOR_DEFAULTS,
  type GovernorsConfig,
  type GovernorsConfigInput,
} from './config.ts';
export {
  ConcurrencyLimiter,
  createConcurrencyLimiter,
  type ConcurrencyOptions,
  type ConcurrencyStats,
} from './concurrency.ts';
export {
  MemoryRateLimitStore,
  MemorySpendStore,
  MemoryLoopStore,
  createMemoryGovernorStores,
} from './memory-stores.ts';
export { SequentialAdmission } from './admission.ts';
export { tenantKey, retryAfterSecondsFromMs } from './keys.ts';
export type * from '../ports/governors.ts';
