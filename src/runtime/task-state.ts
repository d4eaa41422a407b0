import type { LoadedConfig } from '../config/load.ts';
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
  const { openConfiguredRedis } = await import('./redis-state.ts');
  const { RedisTaskStore } = await import('../state/redis/task-store.ts');
  const { client, prefix } = openConfiguredRedis(loaded);
  return new RedisTaskStore({ client, prefix, owned: true });
}
