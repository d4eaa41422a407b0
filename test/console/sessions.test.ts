// Console sessions over their store, with a frozen clock: idle expiry slides with use, the
// credential's own expiry is a hard end, sign-out ends it, the CSRF token is the same wherever the
// id is presented and is no stored secret, and a cookie value of the wrong form is never looked up.
import { describe, expect, it } from 'vitest';
import { ConsoleSessions, MemoryConsoleSessionStore } from '../../src/console/sessions.ts';
import type { Principal } from '../../src/identity/principal.ts';

const alice: Principal = {
  subject: 'alice',
  roles: ['approver'],
  tenants: ['acme'],
  defaultTenant: 'acme',
  via: 'api_key:alice',
};

function clocked(idleMs = 10_000) {
  let now = 1_000_000;
  const store = new MemoryConsoleSessionStore();
  const sessions = new ConsoleSessions({ idleMs, store, now: () => now });
  return { sessions, store, tick: (ms: number) => (now += ms) };
}

describe('console sessions', () => {
  it('ends after idleMs without a request, and each request slides the end', async () => {
    const { sessions, tick } = clocked();
    const s = await sessions.create(alice);
    tick(9_000);
    expect((await sessions.get(s.id))?.principal.subject).toBe('alice');
    tick(9_000);
    expect(await sessions.get(s.id)).toBeDefined();
    tick(10_001);
    expect(await sessions.get(s.id)).toBeUndefined();
  });

  it("ends at the credential's own expiry even while in use", async () => {
    const { sessions, tick } = clocked();
    const s = await sessions.create(alice, 1_000_000 + 5_000);
    tick(4_000);
    expect(await sessions.get(s.id)).toBeDefined();
    tick(1_000);
    expect(await sessions.get(s.id)).toBeUndefined();
  });

  it('ends at sign-out; a second instance on the same store sees the same session and token', async () => {
    const { sessions, store } = clocked();
    const other = new ConsoleSessions({ idleMs: 10_000, store, now: () => 1_000_000 });
    const s = await sessions.create(alice);
    const there = await other.get(s.id);
    expect(there?.csrf).toBe(s.csrf);
    expect(s.csrf).not.toBe(s.id);
    expect(ConsoleSessions.csrfMatches(there!, s.csrf)).toBe(true);
    await other.end(s.id);
    expect(await sessions.get(s.id)).toBeUndefined();
  });

  it('never looks up a cookie value that is not a session id', async () => {
    const { sessions } = clocked();
    for (const bad of ['', 'x', '__proto__', 'a'.repeat(44), `${'a'.repeat(42)}=`])
      expect(await sessions.get(bad)).toBeUndefined();
  });
});
