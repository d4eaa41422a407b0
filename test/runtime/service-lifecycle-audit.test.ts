// Every service records its start and its stop on the trail, and every registry reload (SIGHUP),
// taken or refused with its reason: `toolcage serve`, `toolcage broker serve`, `toolcage mcp` over
// stdio and over HTTP, each a real process stopped with SIGTERM. Each trail then verifies (exit 0:
// every chain sealed by a signed final checkpoint) and holds none of the canary values the calls
// carried (the suite's scan reads the same lines again at the end of the run).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { configuredAuditFiles } from '../../src/runtime/audit.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { CANARIES, CANARY_API_KEY, CANARY_TEXT } from '../helpers/canaries.ts';
import { captureOutput, captureStream } from '../helpers/suite-output.ts';
import { invoke, makeWorkspace, mint, openBroker, sleep, type Workspace } from '../http/helpers.ts';

type Rec = Record<string, unknown> & { kind: string; chain: string };

let ws: Workspace | undefined;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  ws?.cleanup();
  ws = undefined;
});

function records(w: Workspace): Rec[] {
  return configuredAuditFiles(w.loaded).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec),
  );
}

/** The records of the one chain of `service` (`runner`, `broker`, `mcp`). */
function chainOf(w: Workspace, service: string): Rec[] {
  const all = records(w).filter((r) => r.chain.startsWith(`${service}.`));
  expect(new Set(all.map((r) => r.chain)).size, `one ${service} chain`).toBe(1);
  return all;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Service {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** A `toolcage …` service as its own process, its output captured for the suite's scan. */
function spawnService(name: string, args: string[]): Service {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  captureOutput(child, name);
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(String(d)));
  child.stderr!.on('data', (d: Buffer) => output.push(String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { child, output, exited };
}

const urlIn = (s: Service, re: RegExp) =>
  until(`the listening line (${re})`, () => re.exec(s.output.join(''))?.[1]);

/** SIGHUP, then the chain's next `registry_reloaded` and `config_reloaded` records. */
async function reload(
  w: Workspace,
  s: Pick<Service, 'child'>,
  service: string,
): Promise<{ registry: Rec; config: Rec }> {
  const count = (kind: string) => records(w).filter((r) => r.kind === kind).length;
  const before = { registry: count('registry_reloaded'), config: count('config_reloaded') };
  s.child.kill('SIGHUP');
  const next = (kind: string, n: number) =>
    until(`a ${kind} record of ${service}`, () => {
      const r = records(w).filter((x) => x.kind === kind)[n];
      if (r) expect(r.chain.startsWith(`${service}.`)).toBe(true);
      return r;
    });
  return {
    registry: await next('registry_reloaded', before.registry),
    config: await next('config_reloaded', before.config),
  };
}

/** A manifest byte changed without a re-lock: the next reload must be refused. */
function breakLock(w: Workspace): void {
  appendFileSync(join(w.dir, 'tool-manifests', 'test.slow', 'slow.js'), '// edited\n');
}

async function stopAndVerify(w: Workspace, s: Service, service: string): Promise<Rec[]> {
  s.child.kill('SIGTERM');
  expect(await s.exited, s.output.join('')).toBe(0);
  const chain = chainOf(w, service);
  const verify = await runCli(['audit', 'verify', '--config', w.configFile], { cwd: w.dir });
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  // What the calls carried never reached the trail.
  const text = configuredAuditFiles(w.loaded)
    .map((f) => readFileSync(f, 'utf8'))
    .join('');
  for (const c of CANARIES) expect(text).not.toContain(c);
  return chain;
}

const byKind = (chain: Rec[], kind: string) => chain.find((r) => r.kind === kind);
// A signal's config verdict is written beside its registry record, in either order.
const kinds = (chain: Rec[]) => chain.map((r) => r.kind).filter((k) => k !== 'config_reloaded');

describe('every service records its start, its reloads and its stop', () => {
  it('toolcage serve (runner)', async () => {
    ws = await makeWorkspace({ runner: { http: { logLevel: 'info' } } });
    const s = spawnService('runner', ['serve', '--config', ws.configFile, '--port', '0']);
    const url = await urlIn(s, /"url":"(http:\/\/[^"]+)".*toolcage runner listening/);
    const broker = await openBroker(ws);
    try {
      const args = { text: CANARY_TEXT };
      const { claim } = await mint(broker, 'text.word_count', args);
      expect((await invoke(url, 'text.word_count', args, claim)).status).toBe(200);
    } finally {
      await broker.close();
    }
    const ok = await reload(ws, s, 'runner');
    expect(ok.registry).toMatchObject({ outcome: 'ok', origin: 'service' });
    expect(ok.registry.tools).toContain('text.word_count@1.0.0');
    // The config file on disk is the one in effect.
    expect(ok.config).toMatchObject({ outcome: 'ok', files: ['config'] });
    breakLock(ws);
    // An edited config is not applied by a signal: the trail says a restart is needed.
    appendFileSync(ws.configFile, '# edited while running\n');
    const refused = await reload(ws, s, 'runner');
    expect(refused.registry).toMatchObject({ outcome: 'refused', errorCode: 'registry_invalid' });
    expect(String(refused.registry.reason)).toMatch(/test\.slow/);
    expect(refused.config).toMatchObject({
      outcome: 'refused',
      reason: 'restart_required',
      changed: ['config'],
    });

    const chain = await stopAndVerify(ws, s, 'runner');
    expect(kinds(chain)).toEqual([
      'service_started',
      'call',
      'registry_reloaded',
      'registry_reloaded',
      'service_stopped',
      'checkpoint',
    ]);
    expect(byKind(chain, 'service_stopped')).toMatchObject({ service: 'runner' });
    expect(chain.at(-1)).toMatchObject({ final: true });
  });

  it('toolcage broker serve', async () => {
    ws = await makeWorkspace({
      broker: {
        http: { logLevel: 'info' },
        apiKeys: [
          { id: 'svc', sha256: apiKeyHash(CANARY_API_KEY), subject: 'svc', roles: ['admin'] },
        ],
      },
    });
    const s = spawnService('broker', ['broker', 'serve', '--config', ws.configFile, '--port', '0']);
    const url = await urlIn(s, /"url":"(http:\/\/[^"]+)".*toolcage broker listening/);
    const minted = await fetch(`${url}/v1/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': CANARY_API_KEY },
      body: JSON.stringify({ tool: 'text.word_count', args: { text: CANARY_TEXT } }),
    });
    expect(minted.status).toBe(201);
    // The broker now reloads its registry on SIGHUP (it used to keep the one it started with).
    const ok = await reload(ws, s, 'broker');
    expect(ok.registry).toMatchObject({ outcome: 'ok' });
    expect(ok.config).toMatchObject({ outcome: 'ok', files: ['config', 'policy'] });
    breakLock(ws);
    appendFileSync(join(ws.dir, 'broker-policy.yaml'), '# edited while running\n');
    const refused = await reload(ws, s, 'broker');
    expect(refused.registry).toMatchObject({ outcome: 'refused', errorCode: 'registry_invalid' });
    expect(refused.config).toMatchObject({ outcome: 'refused', changed: ['policy'] });

    const chain = await stopAndVerify(ws, s, 'broker');
    expect(kinds(chain)).toEqual([
      'service_started',
      'claim_minted',
      'registry_reloaded',
      'registry_reloaded',
      'service_stopped',
      'checkpoint',
    ]);
    expect(byKind(chain, 'service_stopped')).toMatchObject({ service: 'broker' });
  });

  it('toolcage mcp over stdio', async () => {
    ws = await makeWorkspace();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--config', ws.configFile, '--no-watch'],
      cwd: ws.dir,
      stderr: 'pipe',
    });
    // stdout is the protocol stream (tool results): only stderr is the service's own output.
    const stderr: string[] = [];
    transport.stderr?.on('data', (d: Buffer) => stderr.push(String(d)));
    if (transport.stderr) captureStream(transport.stderr, 'mcp-stdio-stderr');
    const client = new Client({ name: 'toolcage-test', version: '1.0.0' });
    await client.connect(transport);
    const pid = transport.pid!;
    const exited = new Promise<void>((resolve) => (transport.onclose = () => resolve()));
    try {
      const result = await client.callTool({
        name: 'text.word_count',
        arguments: { text: CANARY_TEXT },
      });
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      const hup = () => process.kill(pid, 'SIGHUP');
      const s = { child: { kill: hup } } as unknown as Service;
      const ok = await reload(ws, s, 'mcp');
      expect(ok.registry).toMatchObject({ outcome: 'ok' });
      expect(ok.config).toMatchObject({ outcome: 'ok', files: ['config', 'policy'] });
      process.kill(pid, 'SIGTERM');
      await exited;
    } finally {
      await client.close().catch(() => {});
    }
    const w = ws;
    // The process has exited: its final checkpoint is on disk.
    const chain = await until('the final checkpoint', () => {
      const c = chainOf(w, 'mcp');
      return c.at(-1)?.kind === 'checkpoint' ? c : undefined;
    });
    expect(kinds(chain)).toEqual([
      'service_started',
      'claim_minted',
      'call',
      'registry_reloaded',
      'service_stopped',
      'checkpoint',
    ]);
    expect(chain[0]).toMatchObject({ service: 'mcp', transport: 'stdio' });
    expect(byKind(chain, 'service_stopped')).toMatchObject({ service: 'mcp', transport: 'stdio' });
    const verify = await runCli(['audit', 'verify', '--config', w.configFile], { cwd: w.dir });
    expect(verify.code, verify.stdout + stderr.join('')).toBe(0);
  });

  it('toolcage mcp over HTTP', async () => {
    ws = await makeWorkspace({ mcp: { http: { insecureNoAuth: true } } });
    const s = spawnService('mcp-http', ['mcp', '--config', ws.configFile, '--port', '0']);
    await urlIn(s, /"mcp":"(http:\/\/[^"]+)"/);
    expect((await reload(ws, s, 'mcp')).registry).toMatchObject({ outcome: 'ok' });
    const chain = await stopAndVerify(ws, s, 'mcp');
    expect(kinds(chain)).toEqual([
      'service_started',
      'registry_reloaded',
      'service_stopped',
      'checkpoint',
    ]);
    expect(chain[0]).toMatchObject({ service: 'mcp', transport: 'http' });
    expect(byKind(chain, 'service_stopped')).toMatchObject({ service: 'mcp', transport: 'http' });
  });
});
