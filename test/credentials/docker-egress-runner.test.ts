/**
 * The whole runner with a Docker tool that declares egress: manifest pinned in a
 * signed lock (image identity included), a claim from the broker, the lane's
 * credential added by the runner's egress boundary on the way to the allowlisted
 * loopback host, never seen by the tool, and no container left. Only 127.0.0.1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import { createBrokerRuntime, type BrokerRuntime } from '../../src/runtime/broker.ts';
import { MemoryAuditSink } from '../../src/audit/audit.ts';
import { imageContentIdentity } from '../../src/sandbox/docker/index.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { LABEL } from '../../src/sandbox/docker/owner.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';
import { docker, testImages } from '../sandbox/docker/helpers.ts';
import { requireEgressClient } from '../sandbox/docker/egress-helpers.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

// A canary: the suite's scan fails the run if a trail or log line ever holds it.
const SECRET = `${CANARY_MARK}-runner-level-docker-lane-secret-41c9`;
const TOOL = 'test.docker_egress';

describe("runner: a Docker tool's egress through the boundary", () => {
  let api: LoopbackServer;
  let ws: Workspace;
  let runner: Runner;
  let broker: BrokerRuntime;
  const audit = new MemoryAuditSink();

  beforeAll(async () => {
    requireEgressClient(); // fails, never skips: scripts/setup.sh installs gcc and libc6-dev
    await testImages(); // builds toolcage-test/attack with its static egress client
    api = await startLoopbackServer((req, res) =>
      res.end(
        req.headers.authorization === `Bearer ${SECRET}`
          ? 'auth=injected'
          : `auth=${String(req.headers.authorization)}`,
      ),
    );
    process.env.TOOLCAGE_TEST_DOCKER_LANE = SECRET;
    ws = await makeWorkspace({
      prefix: 'toolcage-docker-egress-',
      config: (text) =>
        `${text.replace('docker: { enabled: false }', 'docker: { enabled: true, poolSize: 0 }')}credentials:
  lanes:
    fake-api:
      kind: static
      env: TOOLCAGE_TEST_DOCKER_LANE
      hosts: [{ host: 127.0.0.1, port: ${api.port}, scheme: http }]
egress:
  unsafeAllowPrivateAddresses: ["127.0.0.1/32"]
`,
    });
    mkdirSync(join(ws.manifests, TOOL), { recursive: true });
    writeFileSync(
      join(ws.manifests, TOOL, 'manifest.yaml'),
      `id: ${TOOL}
version: 1.0.0
description: Posts to the fake API through the egress socket (test only).
runtime: docker
image: toolcage-test/attack
command: ["/opt/toolcage/bin/egress-client", "POST", "${api.origin}/repos/o/r/pulls"]
inputSchema: { type: object, additionalProperties: false }
outputSchema: { type: object }
limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 65536, cpus: 1, pids: 32 }
network: { egress: [{ host: 127.0.0.1, port: ${api.port} }] }
scopes: [api:write]
risk: low
credentials: [{ lane: fake-api, as: API_TOKEN, scopes: [] }]
cost: 1
`,
    );
    await writeSignedLock(ws.manifests, ws.registryKey, (image) => imageContentIdentity(image));
    const loaded = loadConfig(ws.configFile);
    runner = await createRunner(loaded, { audit });
    broker = await createBrokerRuntime(loaded, {
      stores: runner.stores,
      registry: runner.registry,
    });
  }, 120_000);

  afterAll(async () => {
    await broker?.close();
    await runner?.close();
    await api?.close();
    ws?.cleanup();
    delete process.env.TOOLCAGE_TEST_DOCKER_LANE;
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.managed}=true`, `${LABEL.tool}=${TOOL}@1.0.0`] },
    });
    expect(left).toEqual([]);
  });

  it('the downstream gets the credential, the tool and the audit never see it', async () => {
    const { claim } = await broker.broker.issueClaim({
      tool: TOOL,
      args: {},
      sub: 'local-user',
      roles: ['admin'],
      tenant: 'default',
    });
    const out = await runner.executor.execute({
      toolId: TOOL,
      args: {},
      claim,
      requestId: 'req-docker-egress',
    });
    expect(out.result).toEqual({ status: 200, egress: '', body: 'auth=injected' });
    expect(api.seen.at(-1)).toMatchObject({
      method: 'POST',
      url: '/repos/o/r/pulls',
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(audit.events.at(-1)).toMatchObject({
      toolId: TOOL,
      outcome: 'allowed',
      backend: 'docker',
      credentialLanes: ['fake-api'],
    });
    expect(JSON.stringify(audit.events)).not.toContain(SECRET);
  });
});
