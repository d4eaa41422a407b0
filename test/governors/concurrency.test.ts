import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../src/governors/concurrency.ts';

/** A task that runs until released. */
function gate(): {
  started: Promise<void>;
  isStarted: () => boolean;
  release: () => void;
  fn: () => Promise<string>;
} {
  let release!: () => void;
  let markStarted!: () => void;
  let started = false;
  const done = new Promise<void>((r) => (release = r));
  const startedP = new Promise<void>((r) => (markStarted = r));
  return {
    started: startedP,
    isStarted: () => started,
    release: () => release(),
    fn: async () => {
      started = true;
      markStarted();
      await done;
      return 'ok';
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ConcurrencyLimiter', () => {
  it('never runs more than the global cap, nor more than the per-tenant cap for one tenant', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 3,
      perTenantConcurrent: 2,
      maxQueuedPerTenant: 100,
    });
    let running = 0;
    let peak = 0;
    const perTenantPeak = new Map<string, number>();
    const perTenant = new Map<string, number>();
    const task = (tenant: string) => async () => {
      running += 1;
      perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
      peak = Math.max(peak, running);
      perTenantPeak.set(tenant, Math.max(perTenantPeak.get(tenant) ?? 0, perTenant.get(tenant)!));
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
      perTenant.set(tenant, perTenant.get(tenant)! - 1);
    };
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => limiter.run(`t${i % 3}`, task(`t${i % 3}`))),
    );
    expect(peak).toBe(3);
    for (const p of perTenantPeak.values()) expect(p).toBeLessThanOrEqual(2);
    expect(limiter.stats()).toEqual({ running: 0, queued: 0, tenants: [] });
  });

  it("a flood from one tenant does not starve another: the other's call starts at once while the flood waits", async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 4,
      perTenantConcurrent: 2,
      maxQueuedPerTenant: 1000,
    });
    const flood = Array.from({ length: 500 }, () => gate());
    const floodRuns = flood.map((g) => limiter.run('noisy', g.fn));
    await tick();
    expect(flood.filter((g) => g.isStarted())).toHaveLength(2);

    const quiet = gate();
    const quietRun = limiter.run('quiet', quiet.fn);
    await quiet.started; // no flood task had to finish
    expect(limiter.stats()).toMatchObject({ running: 3 });
    quiet.release();
    await expect(quietRun).resolves.toBe('ok');

    for (const g of flood) g.release();
    await Promise.all(floodRuns);
  });

  it('when the flood holds every global slot, the other tenant runs next, ahead of the rest of the flood', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 2,
      perTenantConcurrent: 2,
      maxQueuedPerTenant: 1000,
    });
    const flood = Array.from({ length: 200 }, () => gate());
    const floodRuns = flood.map((g) => limiter.run('noisy', g.fn));
    await tick();
    const quiet = gate();
    const quietRun = limiter.run('quiet', quiet.fn);
    await tick();
    expect(quiet.isStarted()).toBe(false);

    flood[0]!.release(); // one slot frees up
    await quiet.started;
    expect(flood.filter((g) => g.isStarted())).toHaveLength(2); // the flood got nothing new in between
    quiet.release();
    await quietRun;
    for (const g of flood) g.release();
    await Promise.all(floodRuns);
  });

  it('a full tenant queue refuses at once with rate_limited and retryAfterSeconds 1, without affecting other tenants', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 2,
      perTenantConcurrent: 1,
      maxQueuedPerTenant: 3,
    });
    const gates = Array.from({ length: 4 }, () => gate());
    const runs = gates.map((g) => limiter.run('a', g.fn)); // 1 running + 3 queued
    await tick();
    expect(limiter.stats()).toEqual({
      running: 1,
      queued: 3,
      tenants: [{ tenant: 'a', running: 1, queued: 3 }],
    });

    const started = Date.now();
    await expect(limiter.run('a', async () => 'never')).rejects.toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterSeconds: 1,
    });
    expect(Date.now() - started).toBeLessThan(50);

    await expect(limiter.run('b', async () => 'b ran')).resolves.toBe('b ran');
    for (const g of gates) g.release();
    await expect(Promise.all(runs)).resolves.toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('an abort while waiting removes the call and rejects with the reason; the queue slot is freed', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 1,
      perTenantConcurrent: 1,
      maxQueuedPerTenant: 1,
    });
    const first = gate();
    const firstRun = limiter.run('a', first.fn);
    await tick();
    const controller = new AbortController();
    let ran = false;
    const waiting = limiter.run(
      'a',
      async () => {
        ran = true;
      },
      controller.signal,
    );
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    // The aborted call no longer holds the tenant's one queue place.
    const again = limiter.run('a', async () => 'queued again');
    first.release();
    await firstRun;
    await expect(again).resolves.toBe('queued again');
    expect(ran).toBe(false);
  });

  it('an abort while running leaves the slot held until the run really ends (the cap is never exceeded)', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 1,
      perTenantConcurrent: 1,
      maxQueuedPerTenant: 10,
    });
    const controller = new AbortController();
    const running = gate();
    const run = limiter.run('a', running.fn, controller.signal);
    await running.started;
    controller.abort();
    const next = gate();
    const nextRun = limiter.run('b', next.fn);
    await tick();
    expect(next.isStarted()).toBe(false);
    expect(limiter.stats().running).toBe(1);
    running.release();
    await expect(run).resolves.toBe('ok');
    await next.started;
    next.release();
    await nextRun;
  });

  it('refuses an already aborted signal without queueing', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 1,
      perTenantConcurrent: 1,
      maxQueuedPerTenant: 1,
    });
    await expect(
      limiter.run('a', async () => 1, AbortSignal.abort(new Error('gone'))),
    ).rejects.toThrow('gone');
    expect(limiter.stats().tenants).toEqual([]);
  });

  it('passes the error of a failing run through and frees its slot', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 1,
      perTenantConcurrent: 1,
      maxQueuedPerTenant: 1,
    });
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    await expect(limiter.run('a', async () => 2)).resolves.toBe(2);
    await limiter.onIdle();
  });

  it('forgets idle tenants, so tenant state stays bounded', async () => {
    const limiter = new ConcurrencyLimiter({
      maxConcurrent: 4,
      perTenantConcurrent: 1,
      maxQueuedPerTenant: 1,
    });
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => limiter.run(`tenant-${i}`, async () => i)),
    );
    expect(limiter.stats().tenants).toEqual([]);
  });

  it.each([
    [{ maxConcurrent: 0, perTenantConcurrent: 1, maxQueuedPerTenant: 1 }, /maxConcurrent/],
    [{ maxConcurrent: 2, perTenantConcurrent: 3, maxQueuedPerTenant: 1 }, /at most maxConcurrent/],
    [{ maxConcurrent: 2, perTenantConcurrent: 1, maxQueuedPerTenant: 0.5 }, /maxQueuedPerTenant/],
  ])('refuses options %j with a TypeError', (options, message) => {
    expect(() => new ConcurrencyLimiter(options)).toThrow(message);
  });
});

describe('createConcurrencyLimiter', () => {
  it('builds the limiter from the parsed config, or none when the config says enabled: false', async () => {
    const { parseGovernorsConfig } = await import('../../src/governors/config.ts');
    const { createConcurrencyLimiter } = await import('../../src/governors/concurrency.ts');
    expect(createConcurrencyLimiter(parseGovernorsConfig({}).concurrency)?.options).toEqual({
      maxConcurrent: 8,
      perTenantConcurrent: 4,
      maxQueuedPerTenant: 64,
    });
    expect(
      createConcurrencyLimiter(
        parseGovernorsConfig({ concurrency: { enabled: false } }).concurrency,
      ),
    ).toBeUndefined();
  });
});
