import type { LoadedConfig } from '../config/load.ts';
import { RedisSessionBreakerStore } from '../state/redis/session-store.ts';
import { RedisConsoleSessionStore } from '../state/redis/console-session-store.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import {
  closeRedisClient,
  createRedisClient,
  createRedisGovernorStores,
  RedisAdmission,
  pingRedis,
  RedisApprovalStore,
  RedisReplayStore,
  RedisSafety,
} from '../state/redis/index.ts';
import type { StateStores } from '../ports/stores.ts';

/**
 * A client on the configured Redis and the key prefix (ending in `:`) every
 * toolcage key takes. The password comes from an environment variable named
 * in the config (`state.redis.passwordEnv`), never from the file itself.
 */
export function openConfiguredRedis(loaded: LoadedConfig): {
  client: ReturnType<typeof createRedisClient>;
  prefix: string;
} {
  const r = loaded.config.state.redis;
  let password: string | undefined;
  if (r.passwordEnv !== undefined) {
    password = process.env[r.passwordEnv];
    if (password === undefined)
      throw new ToolcageError('config_invalid', {
        message: `state.redis.passwordEnv names ${r.passwordEnv}, which is not set.`,
      });
  }
  const client = createRedisClient({
    url: r.url,
    ...(r.tls ? { tls: true } : {}),
    ...(r.username !== undefined ? { username: r.username } : {}),
    ...(password !== undefined ? { password } : {}),
  });
  const prefix = r.keyPrefix.endsWith(':') ? r.keyPrefix : `${r.keyPrefix}:`;
  return { client, prefix };
}

/**
 * Every store on one Redis, so that replicas share one replay set, one set of
 * approvals and one budget per governor. Fails closed: while Redis is
 * unreachable each store call is `state_unavailable`; there is no fallback to
 * per-process memory.
 */
export async function openRedisStateStores(loaded: LoadedConfig): Promise<StateStores> {
  const r = loaded.config.state.redis;
  const { client, prefix } = openConfiguredRedis(loaded);
  // Eviction and empty restarts would let a consumed claim run again (safety.ts).
  const safety = new RedisSafety({ client, unsafeAllowEviction: r.unsafeAllowEviction });
  return {
    kind: 'redis',
    replay: new RedisReplayStore({ client, prefix, safety }),
    approvals: new RedisApprovalStore({ client, prefix, safety }),
    governors: createRedisGovernorStores({ client, prefix }),
    admission: new RedisAdmission({ client, prefix, safety }),
    sessions: new RedisSessionBreakerStore({ client, prefix }),
    consoleSessions: new RedisConsoleSessionStore({ client, prefix }),
    // For /readyz: a replica whose Redis is down, or may evict consumed claim ids, refuses every
    // call, so the load balancer should stop sending it any.
    async health() {
      const up = await pingRedis(client).then(
        () => true,
        () => false,
      );
      if (!up) return { usable: false, detail: 'redis does not answer PING' };
      return safety.health();
    },
    async close() {
      await closeRedisClient(client);
    },
  };
}
