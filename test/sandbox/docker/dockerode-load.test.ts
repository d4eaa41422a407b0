import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const API = new URL('../../../src/sandbox/docker/api.ts', import.meta.url).pathname;

/** Runs a module body in a fresh Node (the CommonJS cache must start empty) and returns its JSON output. */
function inFreshNode(body: string): unknown {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', body], {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('dockerode loading', () => {
  it('loads dockerode only when a client is made, without BuildKit gRPC, and the deferred session still loads on first use', () => {
    const r = inFreshNode(`
      import { createRequire } from 'node:module';
      const { dockerodeApi } = await import(${JSON.stringify(API)});
      const require = createRequire(${JSON.stringify(API)});
      const loaded = () => Object.keys(require.cache).filter((k) => k.includes('@grpc/grpc-js')).length;
      const dockerodeBefore = Object.keys(require.cache).filter((k) => k.includes('/dockerode/')).length;
      dockerodeApi('/var/run/docker.sock');
      const before = loaded();
      const withSession = require('dockerode/lib/session.js');
      // The stand-in calls the real session, which rejects a docker object without a modem.
      let threw = false;
      try { withSession({}, undefined, () => {}); } catch { threw = true; }
      console.log(JSON.stringify({ dockerodeBefore, before, after: loaded(), threw }));
    `);
    // Importing the API loads no dockerode at all; making a client loads it without gRPC.
    expect(r).toEqual({ dockerodeBefore: 0, before: 0, after: expect.any(Number), threw: true });
    expect((r as { after: number }).after).toBeGreaterThan(0);
  });

  it('loads docker-modem without its ssh transport (ssh2), which still loads on first use', () => {
    const r = inFreshNode(`
      import { createRequire } from 'node:module';
      const { dockerodeApi } = await import(${JSON.stringify(API)});
      const require = createRequire(${JSON.stringify(API)});
      const loaded = () => Object.keys(require.cache).filter((k) => k.includes('/ssh2/')).length;
      dockerodeApi('/var/run/docker.sock');
      const modem = Object.keys(require.cache).filter((k) => k.includes('/docker-modem/')).length;
      const before = loaded();
      const fromDockerode = createRequire(require.resolve('dockerode'));
      const ssh = fromDockerode('docker-modem/lib/ssh.js');
      // The stand-in loads ssh2 and returns the real transport's agent (it connects only when used).
      const agent = ssh({ host: '127.0.0.1' });
      console.log(JSON.stringify({ modem, before, after: loaded(), agent: typeof agent.createConnection }));
    `);
    expect(r).toEqual({
      modem: expect.any(Number),
      before: 0,
      after: expect.any(Number),
      agent: 'function',
    });
    expect((r as { modem: number }).modem).toBeGreaterThan(0);
    expect((r as { after: number }).after).toBeGreaterThan(0);
  });
});
