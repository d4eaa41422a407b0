import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  invoke,
  makeWorkspace,
  startRunner,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';

// Attack: unbounded Prometheus label cardinality (memory exhaustion) through attacker-chosen tool ids.
describe('HTTP metrics: attacker-chosen tool ids never become label values', () => {
  let ws: Workspace;
  let runner: RunningRunner;
  beforeAll(async () => {
    ws = await makeWorkspace();
    runner = await startRunner(ws);
  });
  afterAll(async () => {
    await runner?.close();
    ws?.cleanup();
  });

  it('counts calls to 50 unknown tools under one _unknown label', async () => {
    for (let i = 0; i < 50; i++) await invoke(runner.url, `evil.tool_${i}`, {}, 'x.y.z');
    const text = await (await fetch(`${runner.url}/metrics`)).text();
    expect(text).not.toMatch(/evil\.tool_/);
    expect(text).toMatch(/toolcage_calls_total\{tool="_unknown",outcome="refused"\} 50/);
  });
});
