// `toolcage broker serve` re-verifies its registry on SIGHUP (src/runtime/broker.ts): a lock that
// verifies is swapped in and recorded; one that would leave the Cedar conditions naming a tool the
// registry no longer has (they would silently never match) is refused like at start, recorded with
// `config_invalid`, and the broker keeps minting from the registry it had.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBrokerRuntime, type BrokerRuntime } from '../../src/runtime/broker.ts';
import { addCommentTool, COMMENT_TOOL, writeCedar } from '../helpers/comment-tool.ts';
import { SuiteAuditSink } from '../helpers/suite-output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
let rt: BrokerRuntime;
const audit = new SuiteAuditSink();
beforeAll(async () => {
  ws = await makeWorkspace();
  addCommentTool(ws);
  await ws.relock();
  writeCedar(ws);
  rt = await createBrokerRuntime(ws.reload(), { audit, log: () => {} });
});
afterAll(async () => {
  await rt?.close();
  ws?.cleanup();
});

const reloads = () => audit.entries.filter((e) => e.kind === 'registry_reloaded');

it('swaps in a lock that verifies, and refuses one the Cedar conditions no longer type-check against', async () => {
  expect(rt.reloader).toBeDefined();
  await rt.reloader!.reload();
  expect(reloads()[0]).toMatchObject({ outcome: 'ok' });

  rmSync(join(ws.manifests, COMMENT_TOOL), { recursive: true });
  await ws.relock();
  await rt.reloader!.reload();
  expect(reloads()[1]).toMatchObject({ outcome: 'refused', errorCode: 'config_invalid' });
  expect((reloads()[1] as { reason: string }).reason).toMatch(/Cedar/);
  expect(rt.registry().get(COMMENT_TOOL)).toBeDefined();
});

it('has no reloader of its own when the registry is handed in (its owner reloads it)', async () => {
  const shared = await createBrokerRuntime(ws.loaded, {
    registry: rt.registry,
    stores: rt.stores,
    audit,
  });
  try {
    expect(shared.reloader).toBeUndefined();
  } finally {
    await shared.close();
  }
});
