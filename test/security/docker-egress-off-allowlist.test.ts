/**
 * Attack: a Docker tool with an egress allowlist tries to reach a host off
 * it, through the socket proxy (its only way out: the container has no
 * interface but `lo`). The proxy refuses with 403 not_allowed and nothing
 * reaches the other host. Only 127.0.0.1 is contacted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';
import { expectNoContainersLeft, probeTool } from '../sandbox/docker/helpers.ts';
import {
  egressBackend,
  requireEgressClient,
  egressClientTool,
  type EgressBackend,
} from '../sandbox/docker/egress-helpers.ts';

describe('docker egress off the allowlist', () => {
  let k: EgressBackend;
  let allowed: LoopbackServer;
  let offList: LoopbackServer;

  beforeAll(async () => {
    requireEgressClient(); // fails, never skips: scripts/setup.sh installs gcc and libc6-dev
    allowed = await startLoopbackServer();
    offList = await startLoopbackServer();
    k = egressBackend('egress-off-list');
  });
  afterAll(async () => {
    await k?.close();
    await allowed?.close();
    await offList?.close();
    if (k) await expectNoContainersLeft(k.runnerId);
  });

  it('the proxy refuses a request for a host:port off the list, and the host never sees it', async () => {
    const tool = await egressClientTool('test.exfil_off_list', 'POST', `${offList.origin}/collect`);
    k.allow(tool.id, [{ host: '127.0.0.1', port: allowed.port }]);
    const r = await k.backend.run({ invocationId: 'inv_off_list', tool, input: {} });
    const out = JSON.parse((r as { outputJson: string }).outputJson) as {
      status: number;
      egress: string;
    };
    expect(out).toMatchObject({ status: 403, egress: 'not_allowed' });
    expect(offList.seen).toEqual([]);
  });

  it('the same host name on another port is off the list too', async () => {
    const tool = await egressClientTool(
      'test.exfil_other_port',
      'GET',
      `http://127.0.0.1:${offList.port}/`,
    );
    k.allow(tool.id, [{ host: '127.0.0.1', port: allowed.port }]);
    const r = await k.backend.run({ invocationId: 'inv_other_port', tool, input: {} });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toMatchObject({
      status: 403,
      egress: 'not_allowed',
    });
    expect(offList.seen).toEqual([]);
  });

  it('the container of a tool with egress has no interface but lo and cannot ping out', async () => {
    const tool = { ...(await probeTool()), id: 'test.exfil_probe' };
    k.allow(tool.id, [{ host: '127.0.0.1', port: allowed.port }]);
    const r = await k.backend.run({ invocationId: 'inv_probe', tool, input: {} });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toMatchObject({
      nets: 'lo ',
      ping: false,
    });
  });
});
