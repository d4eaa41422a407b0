/**
 * The reaper's deferred removals against an engine API whose `remove` the
 * test counts: an exited container's removal waits while the engine is
 * busy, starts when it is quiet, never waits beyond `maxDeferred` others,
 * and `flush()` (dispose, whenIdle) removes every one of them.
 */
import { describe, expect, it } from 'vitest';
import type { DockerApi } from '../../../src/sandbox/docker/api.ts';
import { Reaper } from '../../../src/sandbox/docker/reaper.ts';

function counting(): { api: DockerApi; removed: string[] } {
  const removed: string[] = [];
  const api = {
    endpoint: 'unix:///fake.sock',
    async remove(id: string) {
      removed.push(id);
    },
  } as unknown as DockerApi;
  return { api, removed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reaper: removals of exited containers wait for a quiet engine', () => {
  it('removes at once when the engine is not busy', async () => {
    const { api, removed } = counting();
    const reaper = new Reaper(api, { busy: () => false });
    reaper.removeLater('a');
    await reaper.flush();
    expect(removed).toEqual(['a']);
    expect(reaper.pending).toBe(0);
  });

  it('waits while busy, counts as pending, and removes once the engine is quiet', async () => {
    const { api, removed } = counting();
    let busy = true;
    const reaper = new Reaper(api, { busy: () => busy, pollMs: 10 });
    reaper.removeLater('a');
    reaper.removeLater('b');
    await sleep(50);
    expect(removed).toEqual([]);
    expect(reaper.pending).toBe(2);
    busy = false;
    await sleep(50);
    expect(removed.sort()).toEqual(['a', 'b']);
    expect(reaper.pending).toBe(0);
  });

  it('never lets more than maxDeferred wait: the oldest goes first', async () => {
    const { api, removed } = counting();
    const reaper = new Reaper(api, { busy: () => true, maxDeferred: 2, pollMs: 10 });
    for (const id of ['a', 'b', 'c', 'd']) reaper.removeLater(id);
    await sleep(0);
    expect(removed).toEqual(['a', 'b']);
    expect(reaper.pending).toBe(2);
    await reaper.flush(); // dispose: nothing waits any longer, busy or not
    expect(removed.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(reaper.pending).toBe(0);
  });

  it('an immediate remove of a waiting container takes it off the wait list', async () => {
    const { api, removed } = counting();
    const reaper = new Reaper(api, { busy: () => true, pollMs: 10 });
    reaper.removeLater('a');
    await reaper.remove('a');
    await reaper.flush();
    expect(removed).toEqual(['a']);
  });

  it('removes a container answered on the gate once it stopped, or kills it after the grace, or at flush', async () => {
    const { api, removed } = counting();
    const reaper = new Reaper(api, { busy: () => false });
    let stop!: (v: { statusCode: number }) => void;
    reaper.removeWhenStopped('stopping', new Promise((r) => (stop = r)));
    reaper.removeWhenStopped('stuck', new Promise(() => {}), 30);
    reaper.removeWhenStopped('held', new Promise(() => {}));
    expect(reaper.pending).toBe(3);
    await sleep(10);
    expect(removed).toEqual([]); // still running: nothing yet
    stop({ statusCode: 0 });
    await sleep(50);
    expect(removed.sort()).toEqual(['stopping', 'stuck']); // stopped, and past its grace
    expect(reaper.pending).toBe(1);
    await reaper.flush(); // dispose does not wait for a stop
    expect(removed.sort()).toEqual(['held', 'stopping', 'stuck']);
    expect(reaper.pending).toBe(0);
  });
});
