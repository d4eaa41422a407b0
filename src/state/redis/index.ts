/** Shared state on Redis for several runner replicas: replay, governors, single-use keys. */
export {
  createRedisClient,
  closeRedisClient,
  pingRedis,
  stateUnavailable,
  LuaScript,
  DEFAULT_KEY_PREFIX,
  type RedisClient,
  type RedisClientOptions,
} from './client.ts';
export { RedisReplayStore, type RedisStoreOptions } from './replay-store.ts';
export {
  RedisRateLimitStore,
  RedisSpendStore,
  RedisLoopStore,
  createRedisGovernorStores,
  type RedisGovernorStoreOptions,
} from './governor-stores.ts';
export { RedisOnceStore, type OnceStore } from './once-store.ts';
export { RedisApprovalStore } from './approval-store.ts';
export { RedisAdmission } from './admission.ts';
export { RedisSafety, type RedisSafetyOptions } from './safety.ts';
