// `toolcage status` says which sandbox backends are usable: with the Docker engine unreachable the
// runner still serves JS tools, and the report names the socket it tried.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { runCli } from '../helpers/cli.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace({
    config: (text) =>
      text.replace(
        'docker: { enabled: false }',
        'docker: { enabled: true, socketPath: /tmp/toolcage-no-engine.sock }',
      ),
  });
});
afterAll(() => ws?.cleanup());

it('reports the JS backend usable and the Docker backend not, naming the socket; exit 0 while one backend serves', async () => {
  const r = await runCli(['status'], { cwd: ws.dir, timeoutMs: 60_000 });
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as {
    ready: boolean;
    backends: Record<string, { usable: boolean; detail: string }>;
    stores: { kind: string };
    tools: Array<{ id: string; runtime: string; usable: boolean }>;
  };
  expect(report.ready).toBe(true);
  expect(report.backends.js?.usable).toBe(true);
  expect(report.backends.docker).toMatchObject({ usable: false });
  expect(report.backends.docker?.detail).toContain('/tmp/toolcage-no-engine.sock');
  expect(report.stores.kind).toBe('sqlite');
  expect(report.tools.find((t) => t.id === 'text.word_count')).toMatchObject({
    runtime: 'js',
    usable: true,
  });
});
