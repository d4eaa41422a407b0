/** Shared state on Redis for several runner replicas: replay, governors, single-use keys. */
export { createRedisClient, closeRedisClient, pingRedis } from './client.ts';
export { RedisReplayStore } from './replay-store.ts';
export { createRedisGovernorStores } from './governor-stores.ts';
export { RedisApprovalStore } from './approval-store.ts';
export { RedisAdmission } from './admission.ts';
export { RedisSafety } from './safety.ts';
