/**
 * Docker tools' egress, end to end on a real engine: a tool in a
 * `NetworkMode: none` container reaches an allowlisted loopback server
 * through the socket proxy bound at /run/toolcage/egress.sock, with the
 * lane's credential added on the host; file credentials appear at
 * /run/secrets/<as> for the call only. Only 127.0.0.1 is ever contacted.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort, startLoopbackServer, type LoopbackServer } from '../../egress/helpers.ts';
import { attackTool, dockerRuntime, expectNoContainersLeft, probeTool } from './helpers.ts';
import {
  egressBackend,
  requireEgressClient,
  egressClientTool,
  secretsLeft,
  type EgressBackend,
} from './egress-helpers.ts';

const SECRET = 'docker-egress-lane-secret-7f3a9c';
const FILE_SECRET = 'docker-file-credential-5b1e2d';

describe('Docker egress through the socket proxy', () => {
  let k: EgressBackend;
  let lane: LoopbackServer;
  let other: LoopbackServer;

  beforeAll(async () => {
    requireEgressClient(); // fails, never skips: scripts/setup.sh installs gcc and libc6-dev
    lane = await startLoopbackServer((req, res) =>
      res.end(
        req.headers.authorization === `Bearer ${SECRET}`
          ? 'auth=injected'
          : `auth=${String(req.headers.authorization)}`,
      ),
    );
    other = await startLoopbackServer((req, res) =>
      res.end(`auth=${String(req.headers.authorization)}`),
    );
    k = egressBackend('egress');
  });
  afterAll(async () => {
    await k?.close();
    await lane?.close();
    await other?.close();
    if (k) await expectNoContainersLeft(k.runnerId);
  });

  const grant = (invocationId: string, toolId: string) =>
    k.gateway.grant(invocationId, toolId, [
      {
        lane: 'fake-api',
        hosts: [{ host: '127.0.0.1', port: lane.port, scheme: 'http' as const }],
        header: 'Authorization',
        headerValue: `Bearer ${SECRET}`,
        secret: SECRET,
      },
    ]);

  it('reaches its allowlisted loopback host through the socket, with the credential added on the host', async () => {
    const tool = await egressClientTool(
      'test.egress_lane',
      'POST',
      `${lane.origin}/repos/o/r/pulls`,
    );
    k.allow(tool.id, [{ host: '127.0.0.1', port: lane.port }]);
    const revoke = grant('inv_lane', tool.id);
    const r = await k.backend.run({ invocationId: 'inv_lane', tool, input: {} });
    revoke();
    expect(r).toMatchObject({ ok: true });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toEqual({
      status: 200,
      egress: '',
      body: 'auth=injected',
    });
    expect(lane.seen.at(-1)).toMatchObject({
      method: 'POST',
      url: '/repos/o/r/pulls',
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(k.events.at(-1)).toMatchObject({
      invocationId: 'inv_lane',
      host: '127.0.0.1',
      port: lane.port,
      outcome: 'sent',
      status: 200,
      injected: ['fake-api'],
    });
  });

  it('adds nothing to a request for another allowlisted host', async () => {
    const tool = await egressClientTool('test.egress_other', 'GET', `${other.origin}/`);
    k.allow(tool.id, [
      { host: '127.0.0.1', port: lane.port },
      { host: '127.0.0.1', port: other.port },
    ]);
    const revoke = grant('inv_other', tool.id);
    const r = await k.backend.run({ invocationId: 'inv_other', tool, input: {} });
    revoke();
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toEqual({
      status: 200,
      egress: '',
      body: 'auth=undefined',
    });
    expect(other.seen.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('refuses a host off the list with 403 not_allowed, and nothing is sent', async () => {
    const port = await deadPort();
    const tool = await egressClientTool('test.egress_off', 'GET', `http://127.0.0.1:${port}/`);
    k.allow(tool.id, [{ host: '127.0.0.1', port: lane.port }]);
    const r = await k.backend.run({ invocationId: 'inv_off', tool, input: {} });
    const out = JSON.parse((r as { outputJson: string }).outputJson) as {
      status: number;
      egress: string;
      body: string;
    };
    expect(out).toMatchObject({ status: 403, egress: 'not_allowed' });
    expect(JSON.parse(out.body)).toEqual({
      error: {
        kind: 'not_allowed',
        message: `127.0.0.1:${port} is not on this tool's egress allowlist (allowed: 127.0.0.1:${lane.port}).`,
      },
    });
    expect(k.events.at(-1)).toMatchObject({
      invocationId: 'inv_off',
      outcome: 'refused',
      injected: [],
    });
  });

  it('a tool with network: none has no socket at all', async () => {
    const tool = await egressClientTool('test.egress_none', 'GET', `${lane.origin}/`);
    const before = lane.seen.length;
    const r = await k.backend.run({ invocationId: 'inv_none', tool, input: {} });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toEqual({
      error: 'connect: No such file or directory',
    });
    expect(lane.seen.length).toBe(before);
  });

  it('a tool with egress still has only the loopback interface, and no pooled container serves it', async () => {
    const tool = { ...(await probeTool()), id: 'test.egress_probe' };
    k.allow(tool.id, [{ host: '127.0.0.1', port: lane.port }]);
    const r = await k.backend.run({ invocationId: 'inv_probe', tool, input: {} });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toMatchObject({
      nets: 'lo ',
      uid: 65532,
      capEff: '0000000000000000',
      ping: false,
    });
    expect(k.backend.poolState().tools.map((t) => t.tool)).not.toContain(
      `${tool.id}@${tool.version}`,
    );
  });

  it("expose: file puts the credential at /run/secrets/<as>, 0400 and the tool uid's, read-only, and removes it from the host after the call", async () => {
    const tool = { ...(await attackTool('secrets.sh', ['GH_TOKEN'])), id: 'test.egress_file' };
    const r = await k.backend.run({
      invocationId: 'inv_file',
      tool,
      input: {},
      credentials: [{ lane: 'fake-api', as: 'GH_TOKEN', value: FILE_SECRET, expose: 'file' }],
    });
    expect(r).toMatchObject({ ok: true });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toEqual({
      uid: 65532,
      readable: true,
      writable: false,
      dirWritable: false,
      mode: '400',
      owner: '65532:65532',
      dir: '500:65532',
      sha256: createHash('sha256').update(FILE_SECRET).digest('hex'),
      // gVisor's /proc/mounts names the bind's source type `none`; read-only either way.
      mount: dockerRuntime === 'runsc' ? 'none:ro' : 'tmpfs:ro',
    });
    expect(secretsLeft(k)).toEqual([]);
    expect(k.backend.poolState().tools.map((t) => t.tool)).not.toContain(
      `${tool.id}@${tool.version}`,
    );
  });

  it('an expose: file credential is not also in the environment', async () => {
    const tool = {
      ...(await attackTool('echo.sh')),
      id: 'test.egress_env',
      command: [
        '/bin/sh',
        '-c',
        'cat >/dev/null; if [ -n "${GH_TOKEN+set}" ]; then echo \'{"env":true}\'; else echo \'{"env":false}\'; fi',
      ],
    };
    const r = await k.backend.run({
      invocationId: 'inv_env',
      tool,
      input: {},
      credentials: [{ lane: 'fake-api', as: 'GH_TOKEN', value: FILE_SECRET, expose: 'file' }],
    });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toEqual({ env: false });
    expect(secretsLeft(k)).toEqual([]);
  });
});
