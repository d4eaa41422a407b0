import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  callRaw,
  CLI,
  createWorkspace,
  errorOf,
  eventually,
  REPO,
  type Workspace,
} from './helpers.ts';

const run = promisify(execFile);

describe('toolcage mcp over stdio (spawned CLI, SDK Client)', () => {
  let ws: Workspace;
  let client: Client;
  let stderr = '';
  let listChanged = 0;
  let transport: StdioClientTransport;

  beforeAll(async () => {
    ws = await createWorkspace();
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--config', ws.config],
      cwd: REPO,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    client = new Client({ name: 'toolcage-test', version: '1.0.0' });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged += 1;
    });
    await client.connect(transport);
  });

  afterAll(async () => {
    await client?.close();
    ws?.cleanup();
  });

  it('lists exactly the registry allowlist: name = id, description and both schemas verbatim', async () => {
    const registry = await ws.registry();
    const { tools } = await client.listTools();
    const expected = registry.list().map((t) => ({
      name: t.manifest.id,
      description: t.manifest.description,
      inputSchema: t.manifest.inputSchema,
      outputSchema: t.manifest.outputSchema,
    }));
    expect(
      tools
        .map(({ name, description, inputSchema, outputSchema }) => ({
          name,
          description,
          inputSchema,
          outputSchema,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
    expect(tools.map((t) => t.name)).toContain('test.loop_forever');
  });

  it('annotates each tool from its manifest: read-only, destructive and idempotent by risk, open-world when it has egress', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t.annotations]));
    expect(byName.get('text.word_count')).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(byName.get('repo.apply_patch')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
    });
  });

  it('runs a call and returns structuredContent that the SDK client validates against the outputSchema', async () => {
    const result = await client.callTool({
      name: 'text.word_count',
      arguments: { text: 'one two three' },
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ words: 3, lines: 1, characters: 13 });
    expect(JSON.parse((result.content as Array<{ text: string }>)[0]!.text)).toEqual(
      result.structuredContent,
    );
  });

  it('returns arguments that fail the input schema as an isError result with input_invalid', async () => {
    const result = await callRaw(client, 'text.word_count', { text: 42 });
    expect(result.isError).toBe(true);
    expect(errorOf(result).code).toBe('input_invalid');
    expect(errorOf(result).message).toMatch(/\/text must be string/);
  });

  it('shows a refusal through the stock callTool(): the code, message and request id in text, nothing the outputSchema check rejects', async () => {
    // callTool() validates structuredContent against the tool's outputSchema: a refusal must not trip it.
    const result = await client.callTool({ name: 'text.word_count', arguments: { text: 42 } });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
    expect(text).toMatch(/^input_invalid: .*\/text must be string/);
    expect(text).toMatch(/\nRequest id: req_/);
    expect(errorOf(result)).toMatchObject({
      code: 'input_invalid',
      requestId: expect.stringMatching(/^req_/),
    });
  });

  it('shows an approval refusal through the stock callTool() with the request id and how to approve it', async () => {
    const args = { path: 'README.md', edits: [{ find: 'a', replace: 'b' }] };
    const result = await client.callTool({ name: 'repo.apply_patch', arguments: args });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ text: string }>)[0]!.text;
    expect(text).toMatch(/^approval_required: /);
    expect(text).toMatch(/\nApproval request: apr_\S+ \(pending\)/);
    expect(text).toMatch(/toolcage approvals approve apr_\S+/);
  });

  it('answers malformed tools/call params with a readable -32602, not an internal error', async () => {
    await expect(
      client.request(
        {
          method: 'tools/call',
          params: { name: 'text.word_count', arguments: 'not an object' } as never,
        },
        (await import('@modelcontextprotocol/sdk/types.js')).CallToolResultSchema,
      ),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/arguments/) });
  });

  it('answers an unknown tool with a JSON-RPC protocol error (-32602), not a tool result', async () => {
    await expect(callRaw(client, 'nope.missing', {})).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/Unknown tool: nope\.missing/),
    });
  });

  it('reports a run past its time limit as an isError result with timeout', async () => {
    const result = await callRaw(client, 'test.loop_forever', {});
    expect(result.isError).toBe(true);
    expect(errorOf(result).code).toBe('timeout');
  });

  it('withholds output that breaks the output schema: isError with output_invalid', async () => {
    const result = await callRaw(client, 'test.wrong_shape', {});
    expect(result.isError).toBe(true);
    expect(errorOf(result).code).toBe('output_invalid');
    expect(JSON.stringify(result)).not.toContain('many');
  });

  it('asks for a human approval of a high-risk call, and runs the same call once a human approved it', async () => {
    const args = {
      files: { 'a.txt': 'hello world' },
      edits: [{ path: 'a.txt', find: 'world', replace: 'there' }],
    };
    const first = await callRaw(client, 'repo.apply_patch', args);
    expect(first.isError).toBe(true);
    const error = errorOf(first);
    expect(error.code).toBe('approval_required');
    const approvalId = error.details!.approvalId as string;
    expect(approvalId).toMatch(/^apr_/);
    expect(error.details!.status).toBe('pending');
    expect(error.message).toContain(`toolcage approvals approve ${approvalId}`);

    // Still pending: the same call is refused again, naming the same request.
    const again = await callRaw(client, 'repo.apply_patch', args);
    expect(errorOf(again).details!.approvalId).toBe(approvalId);

    // Someone the policy gives no approver role is refused, whatever path they take.
    const refused = await run(
      process.execPath,
      [CLI, 'mcp', 'approve', approvalId, '--by', 'reviewer', '--config', ws.config],
      { cwd: REPO },
    ).then(
      () => undefined,
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    expect(refused).toMatch(/policy_denied/);

    // The local user approves (an approver whose policy allows self-approval: a dev workspace, said aloud).
    const { stdout, stderr } = await run(
      process.execPath,
      [CLI, 'mcp', 'approve', approvalId, '--config', ws.config],
      { cwd: REPO },
    );
    expect(JSON.parse(stdout)).toMatchObject({
      id: approvalId,
      status: 'approved',
      decidedBy: 'local-user',
      args,
    });
    expect(stderr).toMatch(/self-approval/);

    // Other arguments do not ride on that approval.
    const other = await callRaw(client, 'repo.apply_patch', {
      ...args,
      edits: [{ path: 'a.txt', find: 'hello', replace: 'bye' }],
    });
    expect(errorOf(other).code).toBe('approval_required');
    expect(errorOf(other).details!.approvalId).not.toBe(approvalId);

    const ok = await callRaw(client, 'repo.apply_patch', args);
    expect(ok.isError).toBeFalsy();
    expect(ok.structuredContent).toMatchObject({
      files: { 'a.txt': 'hello there' },
      changed: ['a.txt'],
    });

    // Single use: the next identical call needs a new approval.
    const afterUse = await callRaw(client, 'repo.apply_patch', args);
    expect(errorOf(afterUse).code).toBe('approval_required');
    expect(errorOf(afterUse).details!.approvalId).not.toBe(approvalId);
  });

  it('a denial and its reason reach the model on its plain retry', async () => {
    const args = {
      files: { 'b.txt': 'keep me' },
      edits: [{ path: 'b.txt', find: 'keep', replace: 'delete' }],
    };
    const approvalId = errorOf(await callRaw(client, 'repo.apply_patch', args)).details!
      .approvalId as string;
    await run(
      process.execPath,
      [CLI, 'approvals', 'deny', approvalId, '--reason', 'b.txt is frozen', '--config', ws.config],
      { cwd: REPO },
    );
    const retry = errorOf(await callRaw(client, 'repo.apply_patch', args));
    expect(retry).toMatchObject({
      code: 'approval_required',
      details: { approvalId, status: 'denied', reason: 'b.txt is frozen' },
    });
    expect(retry.message).toContain('b.txt is frozen');
  });

  it('sends notifications/tools/list_changed when the registry is re-locked, and lists the new tool', async () => {
    const before = listChanged;
    ws.writeTool(
      'text.shout',
      `id: text.shout
version: 1.0.0
description: Upper-cases a text.
runtime: js
entry: shout.js
inputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
outputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
scopes: [text:read]
risk: low
`,
      'export default function run({ text }) { return { text: text.toUpperCase() }; }\n',
    );
    await ws.relock();
    await eventually(() => listChanged > before, 10_000, `list_changed (stderr: ${stderr})`);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('text.shout');
    const result = await client.callTool({ name: 'text.shout', arguments: { text: 'hi' } });
    expect(result.structuredContent).toEqual({ text: 'HI' });
  });

  it('serves a tool whose artifact changed only from its new pinned definition after the re-lock', async () => {
    const before = listChanged;
    ws.writeTool(
      'text.shout',
      `id: text.shout
version: 1.1.0
description: Upper-cases a text and says how long it is.
runtime: js
entry: shout.js
inputSchema: { type: object, properties: { text: { type: string } }, required: [text], additionalProperties: false }
outputSchema: { type: object, properties: { text: { type: string }, length: { type: integer } }, required: [text, length], additionalProperties: false }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
scopes: [text:read]
risk: low
`,
      'export default function run({ text }) { return { text: text.toUpperCase(), length: text.length }; }\n',
    );
    await ws.relock();
    await eventually(() => listChanged > before, 10_000, 'list_changed');
    const tool = (await client.listTools()).tools.find((t) => t.name === 'text.shout')!;
    expect(tool.description).toBe('Upper-cases a text and says how long it is.');
    expect(tool.outputSchema!.required).toEqual(['text', 'length']);
    const result = await client.callTool({ name: 'text.shout', arguments: { text: 'abc' } });
    expect(result.structuredContent).toEqual({ text: 'ABC', length: 3 });
  });

  it('SIGHUP reloads the registry (the runner reload policy), logs it on stderr, and the server keeps serving', async () => {
    const before = stderr.length;
    process.kill(transport.pid!, 'SIGHUP');
    const end = Date.now() + 15_000;
    while (!/registry reloaded: \d+ tools? verified/.test(stderr.slice(before)) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    expect(stderr.slice(before)).toMatch(/toolcage mcp: registry reloaded: \d+ tools? verified/);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });
});
