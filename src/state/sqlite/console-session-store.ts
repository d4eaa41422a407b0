import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ConsoleSessionRecord, ConsoleSessionStore } from '../../ports/stores.ts';

/**
 * Console sign-in sessions in the workspace database: every broker process on
 * the machine accepts the same cookie. The key is a digest of the cookie's id
 * (src/console/sessions.ts); rows past their expiry are never returned and
 * are swept on sign-in.
 */
export class SqliteConsoleSessionStore implements ConsoleSessionStore {
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #delete: StatementSync;
  readonly #sweep: StatementSync;
  #putsSinceSweep = 0;

  constructor(db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS console_sessions (
        key TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS console_sessions_expiry ON console_sessions (expires_at_ms);
    `);
    this.#put = db.prepare(
      'INSERT OR REPLACE INTO console_sessions (key, record, expires_at_ms) VALUES (?, ?, ?)',
    );
    this.#get = db.prepare(
      'SELECT record FROM console_sessions WHERE key = ? AND expires_at_ms > ?',
    );
    this.#delete = db.prepare('DELETE FROM console_sessions WHERE key = ?');
    this.#sweep = db.prepare('DELETE FROM console_sessions WHERE expires_at_ms <= ?');
  }

  async put(key: string, record: ConsoleSessionRecord, expiresAtMs: number): Promise<void> {
    // Sweep now and then, not on every touch: a touch is one small write.
    if (++this.#putsSinceSweep >= 100) {
      this.#putsSinceSweep = 0;
      this.#sweep.run(Date.now());
    }
    this.#put.run(key, JSON.stringify(record), Math.floor(expiresAtMs));
  }

  async get(key: string, nowMs: number): Promise<ConsoleSessionRecord | undefined> {
    const row = this.#get.get(key, nowMs) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as ConsoleSessionRecord) : undefined;
  }

  async delete(key: string): Promise<void> {
    this.#delete.run(key);
  }
}
