import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ReplayStore } from '../../ports/stores.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';

interface Pending {
  key: string;
  expiresAtMs: number;
  nowMs: number;
  resolve(fresh: boolean): void;
  reject(err: unknown): void;
}

/**
 * Durable, machine-wide jti store. One statement does the check and the
 * insert, so SQLite's write lock makes it atomic across processes: the row is
 * inserted, or an expired row for the same key is overwritten; a live row
 * leaves `changes` at 0 and the claim is a replay.
 *
 * Group commit: the consumes that arrive in one turn of the event loop are
 * written in one transaction (`BEGIN IMMEDIATE` takes the write lock for all
 * of them), and none of their promises settles before it has committed, so
 * each jti is still durably spent before its call runs. Under load a commit
 * (the WAL write and its locks, most of a consume's cost) is paid once per
 * batch instead of once per call; a lone consume is one statement, as before.
 * A batch that fails refuses every call in it (`state_unavailable`): none of
 * them was spent, and none runs.
 */
export class SqliteReplayStore implements ReplayStore {
  readonly kind = 'sqlite';
  readonly #consume: StatementSync;
  readonly #sweep: StatementSync;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #db: DatabaseSync;
  #calls = 0;
  #pending: Pending[] = [];

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#consume = db.prepare(`
      INSERT INTO consumed_jti (key, expires_at_ms) VALUES (?, ?)
      ON CONFLICT (key) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
      WHERE consumed_jti.expires_at_ms <= ?`);
    this.#sweep = db.prepare('DELETE FROM consumed_jti WHERE expires_at_ms <= ?');
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
  }

  consume(
    id: { iss: string; jti: string },
    expiresAtMs: number,
    nowMs = Date.now(),
  ): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const key = JSON.stringify([id.iss, id.jti]);
      if (this.#pending.push({ key, expiresAtMs, nowMs, resolve, reject }) === 1)
        setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    let fresh: boolean[];
    try {
      fresh = batch.length === 1 ? [this.#spend(batch[0]!)] : this.#spendAll(batch);
    } catch (cause) {
      const error = new ToolcageError('state_unavailable', {
        message: 'The replay store (SQLite) could not record the claim id; refusing the call.',
        cause,
      });
      for (const p of batch) p.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(fresh[i]!);
  }

  /** One consume; true when the row was written (the jti was not live). */
  #spend(p: Pending): boolean {
    const { changes } = this.#consume.run(p.key, p.expiresAtMs, p.nowMs);
    if (++this.#calls % 1000 === 0) this.#sweep.run(p.nowMs);
    return Number(changes) === 1;
  }

  /** Several consumes in one transaction: all committed, or none (the error is thrown). */
  #spendAll(batch: Pending[]): boolean[] {
    this.#begin.run();
    try {
      const fresh = batch.map((p) => this.#spend(p));
      this.#commit.run();
      return fresh;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#flush(); // consumes already asked for are answered before the file closes
    if (this.#db.isOpen) this.#db.close();
  }
}
