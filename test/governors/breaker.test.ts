// The session breaker's stores agree: the in-memory twin and SQLite (shared by every process on the
// machine) count failures in a sliding window, pause at maxFailures, and forget on resume.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemorySessionBreakerStore,
  SessionBreaker,
  sessionKey,
  type SessionBreakerStore,
} from '../../src/governors/breaker.ts';
import { openStateDatabase } from '../../src/state/sqlite/database.ts';
import { SqliteSessionBreakerStore } from '../../src/state/sqlite/session-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'toolcage-breaker-'));
const file = join(dir, 'state.db');
const db = openStateDatabase(file);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => SessionBreakerStore]> = [
  ['memory', () => new MemorySessionBreakerStore()],
  ['sqlite', () => new SqliteSessionBreakerStore(db)],
];

describe.each(stores)('%s session breaker store', (name, make) => {
  const rule = { maxFailures: 3, windowSeconds: 60 };
  it('pauses at maxFailures within the window, not before, and resume forgets', async () => {
    const s = make();
    const key = sessionKey('acme', `s-${name}`);
    const t0 = Date.UTC(2030, 0, 1);
    expect(await s.fail(key, t0, rule, 'a')).toBe(false);
    // Two more, but the first has left the window by then: still not paused.
    expect(await s.fail(key, t0 + 61_000, rule, 'b')).toBe(false);
    expect(await s.fail(key, t0 + 62_000, rule, 'c')).toBe(false);
    expect(await s.paused(key)).toBeUndefined();
    expect(await s.fail(key, t0 + 63_000, rule, 'timeout')).toBe(true);
    expect(await s.paused(key)).toEqual({ pausedAtMs: t0 + 63_000, reason: 'timeout' });
    expect(await s.paused(sessionKey('other', `s-${name}`))).toBeUndefined();
    expect(await s.resume(key)).toBe(true);
    expect(await s.resume(key)).toBe(false);
    expect(await s.fail(key, t0 + 64_000, rule, 'd')).toBe(false);
  });

  it('SessionBreaker does not count its own refusal or an unreachable store', async () => {
    const s = make();
    const b = new SessionBreaker({ store: s, rule: { maxFailures: 1, windowSeconds: 60 } });
    await b.record('acme', `t-${name}`, 'session_paused');
    await b.record('acme', `t-${name}`, 'state_unavailable');
    await b.check('acme', `t-${name}`);
    await b.record('acme', `t-${name}`, 'input_invalid');
    await expect(b.check('acme', `t-${name}`)).rejects.toMatchObject({ code: 'session_paused' });
  });
});

it('a paused session is seen by another connection to the same SQLite file', async () => {
  const other = openStateDatabase(file);
  try {
    const key = sessionKey('acme', 'shared');
    await new SqliteSessionBreakerStore(db).fail(
      key,
      Date.now(),
      { maxFailures: 1, windowSeconds: 60 },
      'x',
    );
    expect(await new SqliteSessionBreakerStore(other).paused(key)).toMatchObject({ reason: 'x' });
  } finally {
    other.close();
  }
});

it('refuses a misconfigured breaker with a TypeError', () => {
  expect(
    () =>
      new SessionBreaker({
        store: new MemorySessionBreakerStore(),
        rule: { maxFailures: 0, windowSeconds: 1 },
      }),
  ).toThrow(TypeError);
});
