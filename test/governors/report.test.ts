// The governors' state as operators see it: what the stores hold, joined with the limits from config,
// per tenant, read-only. Memory stores here; test/state/redis-governor-snapshot.test.ts does Redis.
import { describe, expect, it } from 'vitest';
import { Governors } from '../../src/governors/governors.ts';
import { createMemoryGovernorStores } from '../../src/governors/memory-stores.ts';
import { MemorySessionBreakerStore, sessionKey } from '../../src/governors/breaker.ts';
import { governorReport } from '../../src/governors/report.ts';
import { parseTenantKey, tenantKey } from '../../src/governors/keys.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateDatabase } from '../../src/state/sqlite/database.ts';
import { SqliteSessionBreakerStore } from '../../src/state/sqlite/session-store.ts';

const T0 = Date.parse('2026-01-01T00:00:30Z');
const config = {
  rateLimits: { principal: { capacity: 10, refillPerSecond: 1 }, tool: { enabled: false } },
  spend: { budget: 100, windowSeconds: 60 },
  loopGuard: { maxRepeats: 3, windowSeconds: 60 },
  sessions: { budget: 50, maxCalls: 20, windowSeconds: 60 },
} as const;

async function drive() {
  const stores = createMemoryGovernorStores();
  const g = new Governors({ config, stores, clock: () => T0 });
  const call = { principal: 'alice', toolId: 'text.count', argsHash: 'h1', cost: 7 };
  for (let i = 0; i < 3; i++) await g.check({ ...call, tenant: 'acme', session: 's-1' });
  await g.check({ ...call, principal: 'bob', tenant: 'globex', argsHash: 'h2', cost: 2 });
  const sessions = new MemorySessionBreakerStore();
  await sessions.fail(sessionKey('acme', 's-9'), T0, { maxFailures: 1, windowSeconds: 60 }, 'x');
  return { stores, sessions };
}

describe('governor report', () => {
  it('reports rate level and limit, spend used/cap and reset, loop counts, session caps and pauses', async () => {
    const { stores, sessions } = await drive();
    const r = await governorReport({
      stores,
      sessions,
      config: new Governors({ config, stores }).config,
      nowMs: T0 + 1000,
    });
    expect(r.governors).toEqual({ store: 'memory', reportable: true, shared: false });
    expect(r.pauses).toEqual({ store: 'memory', reportable: true });
    expect(r.tenants.map((t) => t.tenant)).toEqual(['acme', 'globex']);
    const acme = r.tenants[0]!;
    // 10 - 3 taken, + 1 refilled in the second since
    expect(acme.rate).toContainEqual({
      limit: 'principal',
      id: 'alice',
      tokens: 8,
      capacity: 10,
      refillPerSecond: 1,
      fullAt: new Date(T0 + 3000).toISOString(),
    });
    expect(acme.rate.find((b) => b.limit === 'tool')).toBeUndefined();
    expect(acme.spend).toEqual({
      spent: 21,
      budget: 100,
      windowSeconds: 60,
      resetsAt: '2026-01-01T00:01:00.000Z',
    });
    expect(acme.loops).toEqual([
      expect.objectContaining({
        principal: 'alice',
        tool: 'text.count',
        argsHash: 'h1',
        count: 3,
        maxRepeats: 3,
      }),
    ]);
    expect(acme.sessions).toEqual([
      {
        session: 's-1',
        spend: { spent: 21, budget: 50, windowSeconds: 60, resetsAt: '2026-01-01T00:01:00.000Z' },
        calls: { spent: 3, budget: 20, windowSeconds: 60, resetsAt: '2026-01-01T00:01:00.000Z' },
      },
    ]);
    expect(acme.paused).toEqual([
      { session: 's-9', pausedAt: new Date(T0).toISOString(), reason: 'x' },
    ]);
    expect(r.tenants[1]!.spend?.spent).toBe(2);
  });

  it('shows one tenant only when asked, so an operator sees no other tenant', async () => {
    const { stores, sessions } = await drive();
    const r = await governorReport({
      stores,
      sessions,
      config: new Governors({ config, stores }).config,
      nowMs: T0,
      tenants: ['globex'],
    });
    expect(r.tenants.map((t) => t.tenant)).toEqual(['globex']);
    expect(r.tenants[0]!.paused).toEqual([]);
  });

  it('leaves out a spend window that has ended and loop calls that left the window', async () => {
    const { stores } = await drive();
    const r = await governorReport({
      stores,
      config: new Governors({ config, stores }).config,
      nowMs: T0 + 61_000,
    });
    expect(r.tenants.every((t) => t.spend === undefined && t.loops.length === 0)).toBe(true);
  });

  it('stops at the limit and says the view is partial', async () => {
    const { stores } = await drive();
    const snap = await stores.snapshot!({ nowMs: T0, limit: 2 });
    expect(snap).toMatchObject({ truncated: true });
    expect(snap.entries).toHaveLength(2);
  });

  it('lists paused sessions from the SQLite file, one tenant exactly (no prefix of another)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolcage-report-'));
    const db = openStateDatabase(join(dir, 'state.db'));
    try {
      const store = new SqliteSessionBreakerStore(db);
      const rule = { maxFailures: 1, windowSeconds: 60 };
      await store.fail(sessionKey('acme', 's-1'), T0, rule, 'tool_failed');
      await store.fail(sessionKey('acme2', 's-2'), T0 + 1, rule, 'x');
      await store.fail(sessionKey('acm', 's-3'), T0 + 2, rule, 'x');
      expect((await store.listPaused({ tenant: 'acme', limit: 10 })).map((p) => p.key)).toEqual([
        sessionKey('acme', 's-1'),
      ]);
      expect(await store.listPaused({ limit: 10 })).toHaveLength(3);
      expect(await store.listPaused({ limit: 2 })).toHaveLength(2);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads back any tenant key, however its parts are spelled', () => {
    for (const tenant of ['acme', 'a:b', '{x}', '__proto__', 'ä*?'])
      expect(parseTenantKey(tenantKey(tenant, 'loop', 'p:1', 't{', ''))).toEqual({
        tenant,
        kind: 'loop',
        parts: ['p:1', 't{', ''],
      });
    expect(parseTenantKey('replay:abc')).toBeUndefined();
  });
});
