// The official MCP conformance suite (pinned in devDependencies) against `toolcage mcp` over
// Streamable HTTP. Every server scenario of the pinned suite is classified in
// conformance/scenarios.json: those that apply must pass; the rest say why a tool runtime
// does not serve them. The server runs with mcp.http.insecureNoAuth on loopback, because the
// suite's client sends no bearer token.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, createWorkspace, type Workspace } from './helpers.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const SUITE = require.resolve('@modelcontextprotocol/conformance/dist/index.js');
const scenarios = JSON.parse(
  readFileSync(new URL('./conformance/scenarios.json', import.meta.url), 'utf8'),
) as { applies: string[]; notApplicable: Record<string, string> };

async function suite(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SUITE, ...args], {
      cwd,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      out: `${e.stdout}${e.stderr}${String(err)}`,
    };
  }
}

describe('the MCP conformance suite against toolcage mcp over Streamable HTTP', () => {
  let ws: Workspace;
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    ws = await createWorkspace();
    ws.appendConfig('mcp:\n  http:\n    insecureNoAuth: true\n');
    server = spawn(process.execPath, [CLI, 'mcp', '--config', ws.config, '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let err = '';
      server.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /"mcp":"([^"]+)"/.exec(err);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (code) => reject(new Error(`toolcage mcp exited ${code}: ${err}`)));
    });
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    ws?.cleanup();
  });

  it('classifies every server scenario of the pinned suite', async () => {
    const listed = await suite(['list'], ws.dir);
    expect(listed.code, listed.out).toBe(0);
    const server = listed.out.slice(0, listed.out.indexOf('Client scenarios'));
    const names = [...server.matchAll(/^\s+- ([\w-]+) \[/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(10);
    const classified = new Set([...scenarios.applies, ...Object.keys(scenarios.notApplicable)]);
    expect(names.filter((n) => !classified.has(n))).toEqual([]);
  });

  for (const scenario of scenarios.applies) {
    it(`passes ${scenario}`, async () => {
      const result = await suite(['server', '--url', url, '--scenario', scenario], ws.dir);
      expect(result.code, result.out.slice(-3000)).toBe(0);
      expect(result.out).toMatch(/Passed: (\d+)\/\1, 0 failed/);
    });
  }
});
