/**
 * Attack: a Docker tool tries to get hold of its lane's credential, which
 * the socket proxy adds on the host (`expose: egress`). It never enters the
 * container: not in the environment, not in any answer, and a downstream
 * that echoes it back has its answer withheld (`leak`). Only 127.0.0.1 is
 * contacted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';
import { attackTool, expectNoContainersLeft } from '../sandbox/docker/helpers.ts';
import {
  egressBackend,
  requireEgressClient,
  egressClientTool,
  type EgressBackend,
} from '../sandbox/docker/egress-helpers.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

// A canary: the suite's scan fails the run if a trail or log line ever holds it.
const SECRET = `${CANARY_MARK}-hidden-lane-credential-93c1d7e5`;

describe('docker tool cannot read its egress credential', () => {
  let k: EgressBackend;
  let api: LoopbackServer;

  beforeAll(async () => {
    requireEgressClient(); // fails, never skips: scripts/setup.sh installs gcc and libc6-dev
    // A hostile (or careless) downstream: it echoes the Authorization header it got.
    api = await startLoopbackServer((req, res) =>
      res.end(`you sent: ${String(req.headers.authorization)}`),
    );
    k = egressBackend('egress-hidden');
  });
  afterAll(async () => {
    await k?.close();
    await api?.close();
    if (k) await expectNoContainersLeft(k.runnerId);
  });

  const run = async (invocationId: string, tool: SandboxTool) => {
    k.allow(tool.id, [{ host: '127.0.0.1', port: api.port }]);
    const revoke = k.gateway.grant(invocationId, tool.id, [
      {
        lane: 'api',
        hosts: [{ host: '127.0.0.1', port: api.port, scheme: 'http' }],
        header: 'Authorization',
        headerValue: `Bearer ${SECRET}`,
        secret: SECRET,
      },
    ]);
    try {
      return await k.backend.run({ invocationId, tool, input: {} });
    } finally {
      revoke();
    }
  };

  it('the downstream gets the credential; its echo of it is withheld from the tool', async () => {
    const r = await run(
      'inv_echo',
      await egressClientTool('test.steal_echo', 'GET', `${api.origin}/whoami`),
    );
    expect(api.seen.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toMatchObject({
      status: 403,
      egress: 'leak',
    });
    expect(JSON.stringify(r)).not.toContain(SECRET);
  });

  it('the credential is nowhere in the container: not in its environment, no secrets folder', async () => {
    // The image has awk and tr, no grep or env: the tool reads its own environment. Seeing the socket's variable proves the scan works.
    const has = (needle: string) =>
      `cat /proc/self/environ | tr '\\0' '\\n' | awk -v s='${needle}' 'index($0, s) { f = 1 } END { exit !f }'`;
    const script = [
      'cat >/dev/null; a=false; b=false; c=false',
      `if ${has(SECRET.slice(0, 12))}; then a=true; fi`,
      `if ${has('TOOLCAGE_EGRESS_SOCKET=/run/toolcage/egress.sock')}; then b=true; fi`,
      'if [ -e /run/secrets ]; then c=true; fi',
      'echo "{\\"secretInEnv\\":$a,\\"socketInEnv\\":$b,\\"secretsDir\\":$c}"',
    ].join('; ');
    const tool = {
      ...(await attackTool('echo.sh')),
      id: 'test.steal_env',
      command: ['/bin/sh', '-c', script],
    };
    const r = await run('inv_env', tool);
    expect(r).toMatchObject({ ok: true });
    expect(JSON.parse((r as { outputJson: string }).outputJson)).toEqual({
      secretInEnv: false,
      socketInEnv: true,
      secretsDir: false,
    });
  });
});
