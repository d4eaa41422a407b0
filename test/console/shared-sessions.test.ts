// Console sign-in sessions live in the state store, so a cookie from one broker replica works on
// another: two broker services on one Redis (and two on one SQLite state file), sign in on A, use
// the cookie and its CSRF token on B, sign out on B and A forgets it too. Records expire by
// themselves at the idle timeout.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { makeWorkspace, type Workspace } from '../http/helpers.ts';
import { deleteKeys, keysWithTtl, SHARED_REDIS_URL, uniquePrefix } from '../replicas/helpers.ts';

const ALICE = 'tck_shared_alice_0123456789';
const AGENT = 'tck_shared_agent_0123456789';

/** Signs in with an API key over a plain form post; the session cookie's value. */
async function signIn(base: string, key: string): Promise<string> {
  const r = await fetch(`${base}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ credential: key }).toString(),
  });
  expect(r.status).toBe(303);
  const m = /toolcage_console=([^;]+)/.exec(r.headers.get('set-cookie') ?? '');
  expect(m).not.toBeNull();
  return m![1]!;
}

async function get(base: string, path: string, cookie: string) {
  const r = await fetch(`${base}${path}`, {
    redirect: 'manual',
    headers: { cookie: `toolcage_console=${cookie}` },
  });
  return { status: r.status, location: r.headers.get('location'), text: await r.text() };
}

async function post(base: string, path: string, cookie: string, form: Record<string, string>) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: `toolcage_console=${cookie}`,
      'content-type': 'application/x-www-form-urlencoded',
      origin: base,
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: r.status, location: r.headers.get('location') };
}

const csrfIn = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

function twoBrokers(state: () => Record<string, unknown>) {
  const ctx = {} as {
    ws: Workspace;
    a: BrokerService;
    b: BrokerService;
    urlA: string;
    urlB: string;
  };
  beforeAll(async () => {
    ctx.ws = await makeWorkspace({
      state: state(),
      broker: {
        console: { sessionIdleSeconds: 120 },
        apiKeys: [
          {
            id: 'alice',
            sha256: apiKeyHash(ALICE),
            subject: 'alice',
            roles: ['approver'],
            tenant: 'acme',
          },
          {
            id: 'agent',
            sha256: apiKeyHash(AGENT),
            subject: 'svc-agent',
            roles: ['admin'],
            tenant: 'acme',
          },
        ],
      },
    });
    ctx.a = await createBrokerService(loadConfig(ctx.ws.configFile));
    ctx.b = await createBrokerService(loadConfig(ctx.ws.configFile));
    ctx.urlA = await ctx.a.listen({ host: '127.0.0.1', port: 0 });
    ctx.urlB = await ctx.b.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await ctx.a?.shutdown();
    await ctx.b?.shutdown();
    ctx.ws?.cleanup();
  });
  return ctx;
}

async function signInOnAUseOnB(c: { urlA: string; urlB: string }) {
  const cookie = await signIn(c.urlA, ALICE);
  const onB = await get(c.urlB, '/console/approvals', cookie);
  expect(onB.status).toBe(200);
  expect(onB.text).toContain('alice');
  // A's page and B's page carry the same CSRF token: a form from A posts to B.
  const csrfA = csrfIn((await get(c.urlA, '/console/approvals', cookie)).text);
  expect(csrfA).not.toBe('');
  expect(csrfIn(onB.text)).toBe(csrfA);
  // Sign out on B: A no longer knows the session either.
  const out = await post(c.urlB, '/console/logout', cookie, { csrf: csrfA });
  expect(out).toEqual({ status: 303, location: '/console/login' });
  const afterOnA = await get(c.urlA, '/console/approvals', cookie);
  expect(afterOnA).toMatchObject({ status: 303, location: '/console/login' });
  return cookie;
}

describe('console sessions on Redis', () => {
  const prefix = uniquePrefix('console-sessions');
  const c = twoBrokers(() => ({
    stores: 'redis',
    redis: { url: SHARED_REDIS_URL, keyPrefix: prefix },
  }));
  afterAll(() => deleteKeys(SHARED_REDIS_URL, prefix));

  it('a cookie from replica A works on replica B, and sign-out on B ends it on A', async () => {
    await signInOnAUseOnB(c);
  });

  it('the store holds a digest of the id, never the id, and the record expires at the idle timeout', async () => {
    const cookie = await signIn(c.urlA, ALICE);
    const csrf = csrfIn((await get(c.urlB, '/console/approvals', cookie)).text);
    const held = (await keysWithTtl(SHARED_REDIS_URL, prefix)).filter((k) =>
      k.key.includes('console-session:'),
    );
    expect(held).toHaveLength(1);
    expect(held[0]!.key).not.toContain(cookie);
    expect(held[0]!.pttl).toBeGreaterThan(100_000);
    expect(held[0]!.pttl).toBeLessThanOrEqual(120_000);
    const client = new Redis(SHARED_REDIS_URL);
    try {
      const value = (await client.get(held[0]!.key))!;
      expect(value).toContain('"subject":"alice"');
      expect(value).not.toContain(cookie);
      expect(value).not.toContain(csrf);
    } finally {
      client.disconnect();
    }
  });
});

describe('console sessions in the SQLite state file', () => {
  const c = twoBrokers(() => ({ stores: 'sqlite' }));
  it('two broker processes on one machine accept the same cookie', async () => {
    await signInOnAUseOnB(c);
  });
});
