import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * The embedded state database: one SQLite file in the workspace, shared by
 * every toolcage process on the machine (CLI runs, `serve`, the broker).
 * WAL lets readers and one writer proceed together; busy_timeout makes a
 * second writer wait instead of failing. synchronous=NORMAL in WAL mode keeps
 * every committed transaction across a process crash (not across power loss).
 */
export function openStateDatabase(file: string): DatabaseSync {
  mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 5000;
    CREATE TABLE IF NOT EXISTS consumed_jti (
      key TEXT PRIMARY KEY,
      expires_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS consumed_jti_expiry ON consumed_jti (expires_at_ms);
    CREATE TABLE IF NOT EXISTS approvals (
      id TEXT PRIMARY KEY,
      tool TEXT NOT NULL,
      sub TEXT NOT NULL,
      tenant TEXT NOT NULL,
      args_hash TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL,
      expires_at_ms INTEGER NOT NULL,
      decided_by TEXT,
      reason TEXT
    );
  `);
  // Session binding (added later): old databases gain the columns in place.
  const columns = new Set(
    (db.prepare('PRAGMA table_info(approvals)').all() as Array<{ name: string }>).map(
      (c) => c.name,
    ),
  );
  if (!columns.has('session')) db.exec('ALTER TABLE approvals ADD COLUMN session TEXT');
  if (!columns.has('any_session'))
    db.exec('ALTER TABLE approvals ADD COLUMN any_session INTEGER NOT NULL DEFAULT 0');
  return db;
}
