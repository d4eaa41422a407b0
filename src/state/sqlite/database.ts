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
  migrateApprovals(db);
  return db;
}

/** Columns added to `approvals` after its first release (stored arguments, decision time, ...). */
const APPROVAL_COLUMNS: Record<string, string> = {
  tool_version: 'TEXT',
  manifest_sha256: 'TEXT',
  risk: 'TEXT',
  session: 'TEXT',
  // Session binding: the approver let the approval be used in any session.
  any_session: 'INTEGER NOT NULL DEFAULT 0',
  args_json: 'TEXT',
  requested_via: 'TEXT',
  decided_at_ms: 'INTEGER',
};

function migrateApprovals(db: DatabaseSync): void {
  const have = new Set(
    (db.prepare('PRAGMA table_info(approvals)').all() as { name: string }[]).map((c) => c.name),
  );
  for (const [name, type] of Object.entries(APPROVAL_COLUMNS))
    if (!have.has(name)) db.exec(`ALTER TABLE approvals ADD COLUMN ${name} ${type}`);
  db.exec(`
    CREATE INDEX IF NOT EXISTS approvals_envelope ON approvals (tool, sub, tenant, args_hash, created_at_ms);
    CREATE INDEX IF NOT EXISTS approvals_created ON approvals (created_at_ms);
  `);
}
