// Attack: drop a new tool (manifest + source) into tool-manifests/ without locking it. Nothing outside
// the lock is ever loaded or run, and no claim can be minted for it.
import { expect, it } from 'vitest';
import { verifyRegistry } from '../../src/registry/verify.ts';
import { loadJwksFile } from '../../src/claims/keys.ts';
import {
  startRunner,
  execute,
  expectBenignSucceeds,
  expectRefusal,
  brokerFor,
  type TestRunner,
} from '../helpers/runner.ts';
import { forge } from '../helpers/forge.ts';
import { addTool, makeWorkspace, pinnedIds } from '../helpers/workspace.ts';

it('an unpinned tool is never loaded: tool_not_allowed on call and on mint, listed as unpinned by verify', async () => {
  const ws = await makeWorkspace();
  const pinned = pinnedIds(ws);
  addTool(ws, {
    id: 'evil.backdoor',
    source: 'export default function run() { return { pwned: true }; }',
  });
  let t: TestRunner | undefined;
  try {
    t = await startRunner(ws);
    expect(
      t.runner.executor
        .listTools()
        .map((x) => x.id)
        .sort(),
    ).toEqual(pinned);
    expect(pinned).not.toContain('evil.backdoor');
    const token = await forge(ws.brokerKey, {
      tool: 'evil.backdoor',
      args: {},
      scope: ['test:run'],
    });
    await expectRefusal(
      execute(t, 'evil.backdoor', {}, token),
      'tool_not_allowed',
      'Tool "evil.backdoor" is not in the registry allowlist.',
    );
    const broker = await brokerFor(t, ws);
    await expectRefusal(
      broker.issueClaim({
        tool: 'evil.backdoor',
        args: {},
        sub: 'local-user',
        roles: ['admin'],
        tenant: 'default',
      }),
      'tool_not_allowed',
      'Tool "evil.backdoor" is not in the registry allowlist; no claim can be minted for it.',
    );
    const report = await verifyRegistry({
      dir: ws.manifests,
      lockKeys: loadJwksFile(ws.path('keys', 'registry.jwks.json')),
    });
    expect(report).toEqual({
      problems: [],
      unpinned: ['evil.backdoor/manifest.yaml'],
      unverified: [],
    });
    await expectBenignSucceeds(t);
  } finally {
    await t?.close();
    ws.cleanup();
  }
});
