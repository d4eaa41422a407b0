// `toolcage serve` reloads the registry the way `toolcage mcp` does (src/runtime/reload.ts): a re-lock
// is picked up by the lock watcher (a new tool is listed and callable), a lock that does not verify
// withholds the tools whose pins changed, and SIGHUP reloads, says so in the log and keeps serving.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';
import { loadConfig } from '../../src/config/load.ts';
import { invoke, makeWorkspace, mint, sleep, waitReady, type Workspace } from './helpers.ts';
import { captureOutput } from '../helpers/suite-output.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const ECHO_MANIFEST = `id: text.echo
version: 1.0.0
description: Echoes a text.
runtime: js
entry: echo.js
inputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
outputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
scopes: [text:read]
risk: low
`;

async function eventually(check: () => Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('toolcage serve: registry reload (lock watched, SIGHUP)', () => {
  let ws: Workspace;
  let child: ChildProcess;
  let url: string;
  const lines: string[] = [];
  const manifests = () => join(ws.dir, 'tool-manifests');
  const relock = async () =>
    writeSignedLock(
      manifests(),
      await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json')),
    );
  const listed = async () =>
    ((await (await fetch(`${url}/v1/tools`)).json()) as { tools: { id: string }[] }).tools.map(
      (t) => t.id,
    );
  const callEcho = async (text: string) => {
    // A broker opened now reads the lock as it is now (it mints for the tools it verifies).
    const broker = await createBrokerRuntime(loadConfig(ws.configFile));
    try {
      const { claim } = await mint(broker, 'text.echo', { text });
      return await invoke(url, 'text.echo', { text }, claim);
    } finally {
      await broker.close();
    }
  };

  beforeAll(async () => {
    ws = await makeWorkspace({ runner: { http: { logLevel: 'info' } } });
    child = spawn(
      process.execPath,
      [CLI, 'serve', '--config', ws.configFile, '--host', '127.0.0.1', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    captureOutput(child, 'runner');
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`serve did not start: ${lines.join('')}`)),
        30_000,
      );
      const take = (chunk: Buffer) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          lines.push(line);
          const m = /"url":"(http:\/\/[^"]+)".*toolcage runner listening/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
    });
    await waitReady(url);
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    ws?.cleanup();
  });

  it('a re-lock with a new tool: the tool is listed and callable without a restart', async () => {
    expect(await listed()).not.toContain('text.echo');
    mkdirSync(join(manifests(), 'text.echo'), { recursive: true });
    writeFileSync(join(manifests(), 'text.echo', 'manifest.yaml'), ECHO_MANIFEST);
    writeFileSync(
      join(manifests(), 'text.echo', 'echo.js'),
      'export default function run({ text }) { return { text }; }\n',
    );
    await relock();
    await eventually(async () => (await listed()).includes('text.echo'), 'text.echo listed');
    const r = await callEcho('hi');
    expect([r.status, r.body.result]).toEqual([200, { text: 'hi' }]);
  });

  it('a lock that does not verify: the tool whose pin changed is withheld (not listed, not run); a good re-lock serves it again', async () => {
    const lockFile = join(manifests(), 'registry.lock.json');
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
    const goodClaim = await (async () => {
      const broker = await createBrokerRuntime(loadConfig(ws.configFile));
      try {
        return (await mint(broker, 'text.echo', { text: 'x' })).claim;
      } finally {
        await broker.close();
      }
    })();
    lock.tools.find((t: { id: string }) => t.id === 'text.echo').artifactSha256 = '0'.repeat(64);
    writeFileSync(lockFile, JSON.stringify(lock));
    await eventually(async () => !(await listed()).includes('text.echo'), 'text.echo withheld');
    expect(await listed()).toContain('text.word_count');
    const refused = await invoke(url, 'text.echo', { text: 'x' }, goodClaim);
    expect(refused.body.error.code).toBe('registry_invalid');
    expect(refused.body.error.message).toMatch(/withheld/);
    expect(lines.join('\n')).toMatch(
      /registry reload failed, keeping the verified registry and withholding text\.echo/,
    );
    await relock();
    await eventually(async () => (await listed()).includes('text.echo'), 'text.echo back');
    const r = await callEcho('back');
    expect([r.status, r.body.result]).toEqual([200, { text: 'back' }]);
  });

  it('SIGHUP reloads the registry, logs it, and the process keeps serving', async () => {
    const before = lines.length;
    child.kill('SIGHUP');
    await eventually(
      async () => lines.slice(before).some((l) => /registry reloaded: \d+ tools verified/.test(l)),
      'the reload log line',
    );
    expect(lines.slice(before).join('\n')).toMatch(/SIGHUP: reloading the registry/);
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const r = await callEcho('still');
    expect(r.status).toBe(200);
  });
});
