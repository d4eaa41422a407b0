// Attack: get a claim or an approval while the audit trail cannot record it (a closed or failing
// destination), so the grant leaves no trace. The broker must refuse with audit_unavailable and hand
// out nothing (an approval is recorded before it is stored, so a refused one is never stored).
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBrokerRuntime, type BrokerRuntime } from '../../src/runtime/broker.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { auditKey, openSink, tempDir } from '../audit/trail.ts';

let ws: Workspace;
let rt: BrokerRuntime;
const tmp = tempDir();

beforeAll(async () => {
  ws = await makeWorkspace();
  const sink = openSink(join(tmp.dir, 'audit.log'), (await auditKey()).key);
  await sink.close(); // the destination is gone: every record is refused
  rt = await createBrokerRuntime(ws.loaded, { audit: sink });
});
afterAll(async () => {
  await rt?.close();
  ws?.cleanup();
  tmp.cleanup();
});

it('refuses to mint a claim it cannot record', async () => {
  await expect(
    rt.broker.issueClaim({
      tool: 'text.word_count',
      args: { text: 'x' },
      sub: 'local-user',
      roles: ['admin'],
      tenant: 'default',
    }),
  ).rejects.toMatchObject({ code: 'audit_unavailable', status: 503 });
});

it('refuses to record an approval it cannot audit', async () => {
  await expect(
    rt.broker.recordApproval({
      tool: 'repo.apply_patch',
      args: { files: {}, edits: [] },
      sub: 'local-user',
      tenant: 'default',
      status: 'approved',
      decidedBy: 'mallory',
    }),
  ).rejects.toMatchObject({ code: 'audit_unavailable' });
});
