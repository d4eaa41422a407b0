import type { LoadedConfig } from '../config/load.ts';
import type { StateStores } from '../ports/stores.ts';
import { SequentialAdmission } from '../governors/admission.ts';
import { decidePlan } from '../governors/decide.ts';
import { createMemoryGovernorStores } from '../governors/memory-stores.ts';
import { openStateDatabase } from '../state/sqlite/database.ts';
import { SqliteReplayStore } from '../state/sqlite/replay-store.ts';
import { SqliteApprovalStore } from '../state/sqlite/approval-store.ts';
import { SqliteSessionBreakerStore } from '../state/sqlite/session-store.ts';
import { SqliteConsoleSessionStore } from '../state/sqlite/console-session-store.ts';

/**
 * `sqlite` (embedded default): replay and approvals in the workspace's SQLite
 * file, durable and shared by every toolcage process on this machine;
 * governors in memory (per process). `redis`: everything on Redis.
 */
export type { StateStores };

export async function openStateStores(loaded: LoadedConfig): Promise<StateStores> {
  const { state } = loaded.config;
  if (state.stores === 'redis') {
    const { openRedisStateStores } = await import('./redis-state.ts');
    return openRedisStateStores(loaded);
  }
  const db = openStateDatabase(loaded.path(state.sqliteFile));
  const replay = new SqliteReplayStore(db);
  const governors = createMemoryGovernorStores();
  return {
    kind: 'sqlite',
    replay,
    approvals: new SqliteApprovalStore(db),
    governors,
    sessions: new SqliteSessionBreakerStore(db),
    consoleSessions: new SqliteConsoleSessionStore(db),
    // consume, then decide: a replayed claim charges nothing
    admission: new SequentialAdmission({ replay, decide: (plan) => decidePlan(governors, plan) }),
    async close() {
      if (db.isOpen) db.close();
    },
  };
}
