// Services refuse to start wrong, exiting non-zero with a message that names the thing to fix: a broker
// with no authentication, a busy port, an unreadable key, a missing lock. SIGHUP never kills a service.
// `toolcage keys api-key` prints a key once and the config line holding only its hash.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBrokerService } from '../../src/runtime/broker-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import { CLI, cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(() => ws.cleanup());

function withConfig(extra: string): string {
  const file = ws.path(`config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    readFileSync(ws.configFile, 'utf8').replace('broker:\n', `broker:\n${extra}`),
  );
  return file;
}

it('broker serve with no authentication exits non-zero naming broker.identity and broker.apiKeys', async () => {
  const r = await runCli(['broker', 'serve', '--port', '0'], { cwd: ws.dir });
  expect(r.code).not.toBe(0);
  const e = cliError(r);
  expect(e.code).toBe('config_invalid');
  expect(e.message).toMatch(/^The broker has no authentication configured/);
  expect(e.message).toContain('broker.identity');
  expect(e.message).toContain('broker.apiKeys');
  expect(e.message).toContain('toolcage keys api-key --name NAME');
}, 120_000);

it('keys api-key prints a key once and a config line with its sha256 that the broker accepts', async () => {
  const r = await runCli(['keys', 'api-key', '--name', 'ci', '--role', 'admin'], { cwd: ws.dir });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { key: string; sha256: string; configLine: string };
  expect(out.key).toMatch(/^tck_[A-Za-z0-9_-]{43}$/);
  expect(out.configLine).toBe(
    `- {"id":"ci","sha256":"${out.sha256}","subject":"ci","roles":["admin"]}`,
  );
  expect(out.configLine).not.toContain(out.key);
  const config = withConfig(`  apiKeys:\n    ${out.configLine}\n`);
  const broker = await createBrokerService(loadConfig(config));
  try {
    const url = await broker.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${url}/v1/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': out.key },
      body: JSON.stringify({ tool: 'text.word_count', args: { text: 'a b' } }),
    });
    expect(res.status).toBe(201);
  } finally {
    await broker.shutdown();
  }
}, 120_000);

it('serve on a busy port exits non-zero naming the port and the config key', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = await runCli(['serve', '--port', String(port)], { cwd: ws.dir, timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    const e = cliError(r);
    expect(e.code).toBe('config_invalid');
    expect(e.message).toBe(
      `Cannot listen on 127.0.0.1:${port}: port ${port} on 127.0.0.1 is already in use by another process. Stop the other process or choose another address (runner.http.host/port, or --host/--port).`,
    );
  } finally {
    blocker.close();
  }
}, 120_000);

it('a port that is not a port exits non-zero naming it', async () => {
  const r = await runCli(['serve', '--port', 'eighty'], { cwd: ws.dir, timeoutMs: 60_000 });
  expect(r.code).not.toBe(0);
  expect(cliError(r)).toMatchObject({
    code: 'config_invalid',
    message: expect.stringMatching(
      /^Cannot listen on port NaN: a port is a whole number from 0 to 65535/,
    ),
  });
}, 120_000);

it('an unreadable broker key and a missing lock each exit non-zero naming the file', async () => {
  const keyFile = ws.path('keys', 'broker.private.jwk.json');
  const key = readFileSync(keyFile, 'utf8');
  rmSync(keyFile);
  mkdirSync(keyFile); // a directory where the key should be: unreadable as a file
  try {
    const config = withConfig(
      `  apiKeys:\n    - { id: x, sha256: "${'0'.repeat(64)}", subject: x }\n`,
    );
    const r = await runCli(['broker', 'serve', '--port', '0', '--config', config], { cwd: ws.dir });
    expect(r.code).not.toBe(0);
    expect(cliError(r).message).toBe(
      `Cannot read the broker signing key ${keyFile}: EISDIR: illegal operation on a directory, read. Create one with \`toolcage keys generate\`.`,
    );
  } finally {
    rmSync(keyFile, { recursive: true });
    writeFileSync(keyFile, key);
  }

  const lockFile = ws.path('tool-manifests', 'registry.lock.json');
  const lock = readFileSync(lockFile, 'utf8');
  rmSync(lockFile);
  try {
    const r = await runCli(['serve', '--port', '0'], { cwd: ws.dir, timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(cliError(r)).toMatchObject({
      code: 'registry_invalid',
      message: `No registry at ${lockFile}. Run \`toolcage registry lock\`.`,
    });
  } finally {
    writeFileSync(lockFile, lock);
  }
}, 120_000);

it('SIGHUP does not stop a running service', async () => {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd: ws.dir });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:[^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}, 60_000);
