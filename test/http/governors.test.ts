import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  makeWorkspace,
  openBroker,
  sleep,
  startRunner,
  type HttpResult,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';

const OFF = { enabled: false };

/** A runner with exactly these governors (everything else off), its broker, and teardown. */
function withGovernors(governors: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const ctx = {} as { ws: Workspace; runner: RunningRunner; broker: BrokerRuntime };
  beforeAll(async () => {
    ctx.ws = await makeWorkspace({
      ...extra,
      governors: {
        rateLimits: { principal: OFF, tool: OFF, tenant: OFF },
        spend: OFF,
        loopGuard: OFF,
        concurrency: OFF,
        ...governors,
      },
    });
    ctx.runner = await startRunner(ctx.ws);
    ctx.broker = await openBroker(ctx.ws);
  });
  afterAll(async () => {
    await ctx.runner?.close();
    await ctx.broker?.close();
    ctx.ws?.cleanup();
  });
  return ctx;
}

function expect429(r: HttpResult, code: string): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status: 429, code });
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

let seq = 0;
const text = () => ({ text: `distinct ${seq++}` });

describe('rate limits over HTTP (token buckets)', () => {
  // One token every 2 s: the calls up to a bucket's capacity finish well inside that even on a loaded
  // CI machine, so "exactly at capacity" does not race the refill; recovery waits one token's time.
  const ctx = withGovernors({
    rateLimits: {
      principal: { capacity: 3, refillPerSecond: 0.5 },
      tool: { capacity: 5, refillPerSecond: 0.5 },
      tenant: { capacity: 7, refillPerSecond: 0.5 },
    },
  });
  const REFILL_ONE_MS = 2100;

  it('per principal: trips at exactly capacity 3 with Retry-After, recovers after refill', async () => {
    for (let i = 0; i < 3; i++)
      expect(
        (
          await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
            sub: 'p1',
            tenant: 'tp',
          })
        ).status,
      ).toBe(200);
    const refused = await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
      sub: 'p1',
      tenant: 'tp',
    });
    expect429(refused, 'rate_limited');
    expect(refused.body.error.message).toMatch(/this principal/);
    expect(
      (
        await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
          sub: 'p2',
          tenant: 'tp',
        })
      ).status,
    ).toBe(200);
    await sleep(REFILL_ONE_MS);
    expect(
      (
        await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
          sub: 'p1',
          tenant: 'tp',
        })
      ).status,
    ).toBe(200);
  });

  it('per tool: trips at exactly capacity 5 across principals, recovers after refill', async () => {
    for (let i = 0; i < 5; i++)
      expect(
        (
          await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
            sub: `u${i}`,
            tenant: 'tt',
          })
        ).status,
      ).toBe(200);
    const refused = await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
      sub: 'u5',
      tenant: 'tt',
    });
    expect429(refused, 'rate_limited');
    expect(refused.body.error.message).toMatch(/this tool/);
    await sleep(REFILL_ONE_MS);
    expect(
      (
        await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
          sub: 'u6',
          tenant: 'tt',
        })
      ).status,
    ).toBe(200);
  });

  it('per tenant: trips at exactly capacity 7 across tools and principals, recovers after refill', async () => {
    const q = (i: number) => ({ document: { i }, pointers: ['/i'] });
    for (let i = 0; i < 4; i++)
      expect(
        (
          await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
            sub: `w${i}`,
            tenant: 'tn',
          })
        ).status,
      ).toBe(200);
    for (let i = 0; i < 3; i++)
      expect(
        (
          await call(ctx.runner.url, ctx.broker, 'data.json_query', q(i), {
            sub: `j${i}`,
            tenant: 'tn',
          })
        ).status,
      ).toBe(200);
    const refused = await call(ctx.runner.url, ctx.broker, 'data.json_query', q(9), {
      sub: 'j9',
      tenant: 'tn',
    });
    expect429(refused, 'rate_limited');
    expect(refused.body.error.message).toMatch(/this tenant/);
    await sleep(REFILL_ONE_MS);
    expect(
      (
        await call(ctx.runner.url, ctx.broker, 'data.json_query', q(10), {
          sub: 'j10',
          tenant: 'tn',
        })
      ).status,
    ).toBe(200);
  });
});

describe('spend cap over HTTP', () => {
  const ctx = withGovernors({ spend: { budget: 3, windowSeconds: 2 } });

  it('trips quota_exceeded at exactly the budget, with Retry-After, and recovers when the window resets', async () => {
    // Start just after a window boundary so all four calls fall in one window.
    const windowMs = 2000;
    await sleep(windowMs - (Date.now() % windowMs) + 20);
    for (let i = 0; i < 3; i++)
      expect(
        (await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), { tenant: 'spender' }))
          .status,
      ).toBe(200);
    const refused = await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), {
      tenant: 'spender',
    });
    expect429(refused, 'quota_exceeded');
    expect(
      (await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), { tenant: 'frugal' }))
        .status,
    ).toBe(200);
    await sleep(Number(refused.headers.get('retry-after')) * 1000 + 50);
    expect(
      (await call(ctx.runner.url, ctx.broker, 'text.word_count', text(), { tenant: 'spender' }))
        .status,
    ).toBe(200);
  });
});

describe('loop guard over HTTP', () => {
  const ctx = withGovernors({ loopGuard: { maxRepeats: 3, windowSeconds: 2 } });

  it('trips loop_detected on the 4th identical call, not for other args, and recovers after the window', async () => {
    const same = { text: 'same call again' };
    for (let i = 0; i < 3; i++)
      expect(
        (await call(ctx.runner.url, ctx.broker, 'text.word_count', same, { sub: 'agent' })).status,
      ).toBe(200);
    expect429(
      await call(ctx.runner.url, ctx.broker, 'text.word_count', same, { sub: 'agent' }),
      'loop_detected',
    );
    expect(
      (
        await call(
          ctx.runner.url,
          ctx.broker,
          'text.word_count',
          { text: 'something else' },
          { sub: 'agent' },
        )
      ).status,
    ).toBe(200);
    expect(
      (await call(ctx.runner.url, ctx.broker, 'text.word_count', same, { sub: 'another-agent' }))
        .status,
    ).toBe(200);
    await sleep(2100);
    expect(
      (await call(ctx.runner.url, ctx.broker, 'text.word_count', same, { sub: 'agent' })).status,
    ).toBe(200);
  });
});

describe('concurrency over HTTP: bounded queues and fairness', () => {
  // Two sandbox workers, so the node's cap (2) is the sandbox's capacity.
  const ctx = withGovernors(
    { concurrency: { maxConcurrent: 2, perTenantConcurrent: 1, maxQueuedPerTenant: 2 } },
    { sandbox: { js: { workers: 2 } } },
  );

  it('a flood from one tenant is refused past its queue, at once, and does not starve another tenant', async () => {
    // Warm both workers (first compile) so the timing below measures queueing only.
    await Promise.all(
      [0, 1].map((i) =>
        call(
          ctx.runner.url,
          ctx.broker,
          'test.slow',
          { ms: 1, n: -1 - i },
          { tenant: 'warm', sub: `w${i}` },
        ),
      ),
    );
    const flood = Array.from({ length: 6 }, (_, i) =>
      call(
        ctx.runner.url,
        ctx.broker,
        'test.slow',
        { ms: 300, n: i },
        { tenant: 'flooder', sub: `f${i}` },
      ),
    );
    await sleep(150);
    const t0 = Date.now();
    const other = await call(
      ctx.runner.url,
      ctx.broker,
      'test.slow',
      { ms: 50, n: 100 },
      { tenant: 'quiet' },
    );
    const otherMs = Date.now() - t0;
    const results = await Promise.all(flood);
    expect(other.status).toBe(200);
    // The quiet tenant waited for at most one flood run (its per-tenant slot), not for the flood's queue.
    expect(otherMs).toBeLessThan(600);
    const statuses = results.map((r) => r.status).sort();
    // 1 running + 2 queued accepted; the other 3 refused at once.
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    for (const r of results.filter((x) => x.status === 429)) expect429(r, 'rate_limited');
  });
});
