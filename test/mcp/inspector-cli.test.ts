// Interoperability with a client nobody on this team wrote: the MCP Inspector CLI (pinned in
// devDependencies) spawns `toolcage mcp` over stdio, lists the tools, calls one, and shows what a
// person sees of a refusal and of a high-risk call waiting for approval.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, createWorkspace, type Workspace } from './helpers.ts';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const INSPECTOR = join(
  require.resolve('@modelcontextprotocol/inspector/package.json').replace(/package\.json$/, ''),
  'clients/launcher/build/index.js',
);

interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

async function inspector(ws: Workspace, args: string[]): Promise<Answer> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      // The Inspector claims --config for itself: toolcage mcp finds toolcage.config.yaml in its cwd.
      // A generous connect timeout: the first spawn of toolcage mcp compiles its TypeScript.
      [INSPECTOR, '--cli', '--connect-timeout', '60000', process.execPath, CLI, 'mcp', ...args],
      // A private catalog: the Inspector would otherwise write ~/.mcp-inspector.
      {
        cwd: ws.dir,
        timeout: 60_000,
        env: { ...process.env, MCP_CATALOG_PATH: join(ws.dir, 'inspector.json') },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: `${e.stderr ?? ''}\n${String(err)}`,
    };
  }
}

/** The Inspector prints the JSON result, then (for isError results) its own one-line verdict. */
function firstJson(stdout: string): {
  content?: Array<{ text: string }>;
  tools?: Array<{ name: string }>;
  isError?: boolean;
  structuredContent?: unknown;
} {
  const end = stdout.indexOf('\n}\n');
  return JSON.parse(end >= 0 ? stdout.slice(0, end + 2) : stdout) as ReturnType<typeof firstJson>;
}

// Each case spawns the Inspector, which spawns toolcage mcp: two Node start-ups per case.
describe('the MCP Inspector CLI against toolcage mcp over stdio', { timeout: 90_000 }, () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace();
  });
  afterAll(() => ws?.cleanup());

  it('lists the allowlisted tools', async () => {
    const answer = await inspector(ws, ['--method', 'tools/list']);
    expect(answer.code, answer.stderr).toBe(0);
    expect(firstJson(answer.stdout).tools!.map((t) => t.name)).toEqual(
      expect.arrayContaining(['text.word_count', 'repo.apply_patch']),
    );
  });

  it('calls a tool and shows its validated output', async () => {
    const answer = await inspector(ws, [
      '--method',
      'tools/call',
      '--tool-name',
      'text.word_count',
      '--tool-arg',
      'text=one two',
    ]);
    expect(answer.code, answer.stderr).toBe(0);
    expect(firstJson(answer.stdout).structuredContent).toEqual({
      words: 2,
      lines: 1,
      characters: 7,
    });
  });

  it('shows a refusal with its code and message, not an output-schema complaint', async () => {
    const answer = await inspector(ws, [
      '--method',
      'tools/call',
      '--tool-name',
      'text.word_count',
      '--tool-arg',
      'text=42',
    ]);
    const result = firstJson(answer.stdout);
    expect(result.isError).toBe(true);
    expect(result.content![0]!.text).toMatch(/^input_invalid: .*\/text must be string/);
    expect(answer.stdout + answer.stderr).not.toMatch(/must have required property/);
  });

  it('shows a high-risk call waiting for approval with the request id and how to approve it', async () => {
    const answer = await inspector(ws, [
      '--method',
      'tools/call',
      '--tool-name',
      'repo.apply_patch',
      '--tool-arg',
      'path=README.md',
      'edits=[{"find":"a","replace":"b"}]',
    ]);
    const text = firstJson(answer.stdout).content![0]!.text;
    expect(text).toMatch(/^approval_required: /);
    expect(text).toMatch(/Approval request: apr_\S+ \(pending\)/);
    expect(text).toMatch(/toolcage approvals approve apr_\S+/);
  });
});
