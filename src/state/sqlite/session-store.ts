import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { BreakerRule, SessionBreakerStore, SessionPause } from '../../governors/breaker.ts';

/** Session breaker state in the workspace database: every toolcage process on the machine sees one pause. */
export class SqliteSessionBreakerStore implements SessionBreakerStore {
  readonly #db: DatabaseSync;
  readonly #paused: StatementSync;
  readonly #prune: StatementSync;
  readonly #insert: StatementSync;
  readonly #count: StatementSync;
  readonly #pause: StatementSync;
  readonly #unpause: StatementSync;
  readonly #forget: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS session_failures (key TEXT NOT NULL, at_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS session_failures_key ON session_failures (key, at_ms);
      CREATE TABLE IF NOT EXISTS session_pauses (
        key TEXT PRIMARY KEY, paused_at_ms INTEGER NOT NULL, reason TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
    this.#paused = db.prepare('SELECT paused_at_ms, reason FROM session_pauses WHERE key = ?');
    this.#prune = db.prepare('DELETE FROM session_failures WHERE key = ? AND at_ms <= ?');
    this.#insert = db.prepare('INSERT INTO session_failures (key, at_ms) VALUES (?, ?)');
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM session_failures WHERE key = ?');
    this.#pause = db.prepare(
      'INSERT OR IGNORE INTO session_pauses (key, paused_at_ms, reason) VALUES (?, ?, ?)',
    );
    this.#unpause = db.prepare('DELETE FROM session_pauses WHERE key = ?');
    this.#forget = db.prepare('DELETE FROM session_failures WHERE key = ?');
  }

  async paused(key: string): Promise<SessionPause | undefined> {
    const row = this.#paused.get(key) as { paused_at_ms: number; reason: string } | undefined;
    return row ? { pausedAtMs: Number(row.paused_at_ms), reason: row.reason } : undefined;
  }

  async fail(key: string, nowMs: number, rule: BreakerRule, reason: string): Promise<boolean> {
    // One write transaction: concurrent processes count every failure exactly once.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      if (this.#paused.get(key)) {
        this.#db.exec('COMMIT');
        return true;
      }
      this.#prune.run(key, nowMs - rule.windowSeconds * 1000);
      this.#insert.run(key, nowMs);
      const { n } = this.#count.get(key) as { n: number };
      const trip = Number(n) >= rule.maxFailures;
      if (trip) this.#pause.run(key, nowMs, reason);
      this.#db.exec('COMMIT');
      return trip;
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  async resume(key: string): Promise<boolean> {
    this.#forget.run(key);
    return Number(this.#unpause.run(key).changes) === 1;
  }
}
