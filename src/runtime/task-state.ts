import type { LoadedConfig } from '../config/load.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { TaskStore } from '../ports/mcp-tasks.ts';
import { openStateDatabase } from '../state/sqlite/database.ts';
import { SqliteTaskStore } from '../state/sqlite/task-store.ts';

/**
 * The MCP task store on the configured state (`state.stores`): the workspace's
 * SQLite file, or the shared Redis with the same key prefix, so that every
 * replica reaches every task. Its own connection: a host with a remote broker
 * and a remote runner holds no other state store.
 */
export async function openTaskStore(loaded: LoadedConfig): Promise<TaskStore> {
  const { state } = loaded.config;
  if (state.stores !== 'redis') {
    return new SqliteTaskStore(openStateDatabase(loaded.path(state.sqliteFile)));
  }
  const r = state.redis;
  let password: string | undefined;
  if (r.passwordEnv !== undefined) {
    password = process.env[r.passwordEnv];
    if (password === undefined)
      throw new ToolcageError('config_invalid', {
        message: `state.redis.passwordEnv names ${r.passwordEnv}, which is not set.`,
      });
  }
  const { createRedisClient } = await import('../state/redis/client.ts');
  const { RedisTaskStore } = await import('../state/redis/task-store.ts');
  const client = createRedisClient({
    url: r.url,
    ...(r.tls ? { tls: true } : {}),
    ...(r.username !== undefined ? { username: r.username } : {}),
    ...(password !== undefined ? { password } : {}),
  });
  const prefix = r.keyPrefix.endsWith(':') ? r.keyPrefix : `${r.keyPrefix}:`;
  return new RedisTaskStore({ client, prefix, owned: true });
}
