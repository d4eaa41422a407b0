/**
 * The warm pool's refill policy against a make() the test controls: calls
 * that find the pool empty wait for containers already being made, a new
 * pool's first call makes its own (labelled with its invocation), the pool
 * never makes more than `maxStarting` at once (filling in waves when that is
 * below the pool's size), and a waiting call goes cold
 * (never hangs) when the engine fails or the pool closes.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ToolPool } from '../../../src/sandbox/docker/pool.ts';
import type { WarmContainer } from '../../../src/sandbox/docker/warm.ts';
import { Demuxer } from '../../../src/sandbox/docker/demux.ts';

let seq = 0;
function container(): WarmContainer {
  const stream = new PassThrough();
  return {
    id: `c${++seq}`,
    createdAt: Date.now(),
    stream,
    demux: new Demuxer(stream, { maxStdoutBytes: 10, maxStderrBytes: 10, onStdoutOverflow() {} }),
    exited: new Promise(() => {}),
    drained: new Promise(() => {}),
    isDone: () => false,
    gated: false,
    used: false,
    onOverflow() {},
  };
}

/** A make() whose creations finish only when the test says so. */
function engine() {
  const pending: Array<{ ok(): void; fail(): void }> = [];
  let made = 0;
  const make = () =>
    new Promise<WarmContainer>((resolve, reject) => {
      made++;
      pending.push({ ok: () => resolve(container()), fail: () => reject(new Error('engine')) });
    });
  return { make, pending, made: () => made };
}

const live = async () => true;
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('warm pool refill', () => {
  it('hands a call the container being made instead of making one more when the pool is empty', async () => {
    const e = engine();
    const discarded: string[] = [];
    const pool = new ToolPool({
      tool: 't@1',
      size: 1,
      maxStarting: 4,
      make: e.make,
      discard: (w) => discarded.push(w.id),
    });
    pool.refill();
    expect(e.made()).toBe(1);
    const taking = pool.take(live);
    await tick();
    // One being made for the pool, one for the waiting call: the call gets the first to arrive.
    expect(e.made()).toBe(2);
    e.pending.shift()!.ok();
    const warm = await taking;
    expect(warm?.id).toBeDefined();
    expect(discarded).toEqual([]);
    pool.close();
  });

  it('never has more than maxStarting containers being made; calls beyond them go cold', async () => {
    const e = engine();
    const pool = new ToolPool({ tool: 't@1', size: 2, maxStarting: 3, make: e.make, discard() {} });
    pool.refill();
    const calls = Array.from({ length: 10 }, () => pool.take(live));
    await tick();
    expect(e.made()).toBe(3);
    for (let i = 0; i < 3; i++) {
      e.pending.shift()!.ok();
      await tick();
      expect(pool.state().filling).toBeLessThanOrEqual(3);
    }
    const got = await Promise.all(calls);
    // Three were being made: three calls got them, the other seven made their own.
    expect(got.filter((w) => w !== undefined)).toHaveLength(3);
    pool.close();
  });

  it('fills in waves of maxStarting when maxStarting is below size, until size are ready', async () => {
    const e = engine();
    const pool = new ToolPool({ tool: 't@1', size: 5, maxStarting: 2, make: e.make, discard() {} });
    pool.refill();
    expect(e.made()).toBe(2);
    for (let landed = 1; landed <= 5; landed++) {
      e.pending.shift()!.ok();
      await tick();
      expect(pool.state().filling).toBeLessThanOrEqual(2);
      expect(pool.state().ready).toBe(landed);
    }
    expect(e.made()).toBe(5);
    expect(pool.state().filling).toBe(0);
    pool.close();
  });

  it("makes a new pool's first call its own container", async () => {
    const e = engine();
    const pool = new ToolPool({ tool: 't@1', size: 1, maxStarting: 4, make: e.make, discard() {} });
    expect(await pool.take(live)).toBeUndefined();
    expect(e.made()).toBe(1); // the refill, for the next call
    pool.close();
  });

  it('sends waiting calls cold when the engine fails, and when the pool closes', async () => {
    const e = engine();
    const pool = new ToolPool({ tool: 't@1', size: 1, maxStarting: 1, make: e.make, discard() {} });
    const a = pool.take(live);
    const b = pool.take(live);
    await tick();
    e.pending.shift()!.fail(); // backoff: nothing more is made for a while
    expect(await a).toBeUndefined();
    expect(await b).toBeUndefined();
    const pool2 = new ToolPool({
      tool: 't@1',
      size: 1,
      maxStarting: 1,
      make: e.make,
      discard() {},
    });
    const c = pool2.take(live);
    await tick();
    pool2.close();
    expect(await c).toBeUndefined();
  });
});
