import type { LoadedConfig } from '../config/load.ts';
import type { ReplayStore } from '../claims/replay-store.ts';
import type { ApprovalStore } from '../broker/approval-store.ts';
import type { GovernorStores } from '../ports/governors.ts';
import type { AdmissionStep } from '../ports/gates.ts';
import { createMemoryGovernorStores } from '../governors/memory-stores.ts';
import { openStateDatabase } from '../state/sqlite/database.ts';
import { SqliteReplayStore } from '../state/sqlite/replay-store.ts';
import { SqliteApprovalStore } from '../state/sqlite/approval-store.ts';

/** Every store that protects a call, from one configuration choice. */
export interface StateStores {
  kind: string;
  replay: ReplayStore;
  approvals: ApprovalStore;
  governors: GovernorStores;
  /** Replay + governors in one step, where the stores can (Redis). */
  admission?: AdmissionStep;
  /** Whether the stores can decide right now (Redis: answers PING). Absent for embedded stores, usable while open. */
  health?(): Promise<{ usable: boolean; detail: string }>;
  close(): Promise<void>;
}

/**
 * `sqlite` (embedded default): replay and approvals in the workspace's SQLite
 * file, durable and shared by every toolcage process on this machine;
 * governors in memory (per process). `redis`: everything on Redis.
 */
export async function openStateStores(loaded: LoadedConfig): Promise<StateStores> {
  const { state } = loaded.config;
  if (state.stores === 'redis') {
    const { openRedisStateStores } = await import('./redis-state.ts');
    return openRedisStateStores(loaded);
  }
  const db = openStateDatabase(loaded.path(state.sqliteFile));
  return {
    kind: 'sqlite',
    replay: new SqliteReplayStore(db),
    approvals: new SqliteApprovalStore(db),
    governors: createMemoryGovernorStores(),
    async close() {
      if (db.isOpen) db.close();
    },
  };
}
