import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ReplayStore } from '../../ports/stores.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';

/**
 * Durable, machine-wide jti store. One statement does the check and the
 * insert, so SQLite's write lock makes it atomic across processes: the row is
 * inserted, or an expired row for the same key is overwritten; a live row
 * leaves `changes` at 0 and the claim is a replay.
 */
export class SqliteReplayStore implements ReplayStore {
  readonly kind = 'sqlite';
  readonly #consume: StatementSync;
  readonly #sweep: StatementSync;
  readonly #db: DatabaseSync;
  #calls = 0;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#consume = db.prepare(`
      INSERT INTO consumed_jti (key, expires_at_ms) VALUES (?, ?)
      ON CONFLICT (key) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
      WHERE consumed_jti.expires_at_ms <= ?`);
    this.#sweep = db.prepare('DELETE FROM consumed_jti WHERE expires_at_ms <= ?');
  }

  async consume(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    nowMs = Date.now(),
  ): Promise<boolean> {
    try {
      const { changes } = this.#consume.run(JSON.stringify([id.iss, id.jti]), expiresAtMs, nowMs);
      if (++this.#calls % 1000 === 0) this.#sweep.run(nowMs);
      return Number(changes) === 1;
    } catch (cause) {
      throw new ToolcageError('state_unavailable', {
        message: 'The replay store (SQLite) could not record the claim id; refusing the call.',
        cause,
      });
    }
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
