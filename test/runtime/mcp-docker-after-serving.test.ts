// `toolcage mcp` makes its Docker backend once its transport serves, as `serve` does once it listens
// (src/runtime/deferred-backend.ts): `create` does not wait for dockerode and the engine, the backend
// is made after `started()`, and a service closed before it served never makes one.
import { afterEach, expect, it } from 'vitest';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { SuiteAuditSink } from '../helpers/suite-output.ts';
import { makeWorkspace, type Workspace } from '../http/helpers.ts';

let ws: Workspace | undefined;
let service: ToolcageMcpService | undefined;
afterEach(async () => {
  await service?.close();
  ws?.cleanup();
});

/** Whether `p` settles within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

async function create(dockerAfterServing: boolean): Promise<ToolcageMcpService> {
  // Docker on, no warm containers: the backend is made (engine probed) but starts nothing.
  ws = await makeWorkspace({ sandbox: { docker: { enabled: true, poolSize: 0 } } });
  service = await ToolcageMcpService.create(ws.loaded, {
    audit: new SuiteAuditSink(),
    log: () => {},
    dockerAfterServing,
  });
  return service;
}

it('makes the Docker backend only once the transport serves', async () => {
  const s = await create(true);
  const settled = s.sandboxesSettled();
  expect(await settlesWithin(settled, 1_000)).toBe(false);
  await s.started('stdio');
  expect(await settlesWithin(settled, 30_000)).toBe(true);
});

it('never makes it when closed before serving', async () => {
  const s = await create(true);
  const settled = s.sandboxesSettled();
  await s.close();
  expect(await settlesWithin(settled, 5_000)).toBe(true);
});

it('without the option (a library caller that never calls started) makes it before create resolves', async () => {
  const s = await create(false);
  expect(await settlesWithin(s.sandboxesSettled(), 50)).toBe(true);
});
