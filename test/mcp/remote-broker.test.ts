import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { deleteKeys, SHARED_REDIS_URL, uniquePrefix } from '../replicas/helpers.ts';
import { patchArgs } from '../helpers/runner.ts';
import { cliError, runCli } from '../helpers/cli.ts';
import { callRaw, CLI, createWorkspace, errorOf, REPO, type Workspace } from './helpers.ts';
import {
  mcpHostCopy,
  patchConfig,
  startBrokerProcess,
  type BrokerProcess,
} from './broker-process.ts';

const MCP_KEY = randomBytes(24).toString('base64url');
const OPS_KEY = randomBytes(24).toString('base64url');

describe('toolcage mcp (stdio) with a remote broker service: two processes, no signing key on the MCP host', () => {
  const prefix = uniquePrefix('mcp-remote-broker');
  const state = { stores: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } };
  let ws: Workspace;
  let host: ReturnType<typeof mcpHostCopy>;
  let broker: BrokerProcess;
  let client: Client;
  let stderr = '';

  const brokerApi = (path: string, init: RequestInit = {}) =>
    fetch(`${broker.url}${path}`, {
      ...init,
      headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json', ...init.headers },
    });

  beforeAll(async () => {
    ws = await createWorkspace();
    // The broker's policy lets the MCP server's own role mint for any subject, with these roles.
    appendFileSync(
      join(ws.dir, 'broker-policy.yaml'),
      'delegates:\n  mcp-delegate: { subjects: ["*"], roles: [admin, analyst, support, approver] }\n',
    );
    host = mcpHostCopy(ws.dir);
    patchConfig(ws.config, {
      state,
      broker: {
        http: { logLevel: 'info' },
        apiKeys: [
          {
            id: 'mcp',
            sha256: apiKeyHash(MCP_KEY),
            subject: 'mcp-gateway',
            roles: ['mcp-delegate'],
          },
          { id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] },
        ],
      },
    });
    broker = await startBrokerProcess(ws.config);
    writeFileSync(join(host.dir, 'keys', 'mcp-broker.key'), `${MCP_KEY}\n`, { mode: 0o600 });
    patchConfig(host.config, { runner: { brokerKeys: null } });
    patchConfig(host.config, {
      state,
      sandbox: { docker: { enabled: false } },
      // The runner verifies claims against the broker's published keys, fetched from the broker.
      runner: { brokerKeys: { jwksUrl: `${broker.url}/.well-known/jwks.json` } },
      mcp: { broker: { url: broker.url, apiKeyFile: 'keys/mcp-broker.key' } },
    });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--config', host.config],
      cwd: REPO,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    client = new Client({ name: 'remote-broker-test', version: '1.0.0' });
    await client.connect(transport).catch((err: Error) => {
      throw new Error(`${err.message}\n${stderr}`);
    });
  });

  afterAll(async () => {
    await client?.close();
    await broker?.stop();
    await deleteKeys(SHARED_REDIS_URL, prefix);
    host?.cleanup();
    ws?.cleanup();
  });

  it('the MCP host holds no broker signing key: its config names one that does not exist', () => {
    expect(existsSync(join(host.dir, 'keys', 'broker.private.jwk.json'))).toBe(false);
    expect(existsSync(join(ws.dir, 'keys', 'broker.private.jwk.json'))).toBe(true);
  });

  it('runs a call with a claim the broker minted for the MCP caller (the local user), not for the MCP server', async () => {
    const r = await client.callTool({ name: 'text.word_count', arguments: { text: 'a b c' } });
    expect(r.isError ?? false, JSON.stringify(r) + stderr).toBe(false);
    expect(r.structuredContent).toEqual({ words: 3, lines: 1, characters: 5 });
  });

  it('refuses a high-risk call with approval_required naming the request the remote broker opened; a retry after approval succeeds', async () => {
    const args = patchArgs('remote');
    const first = await callRaw(client, 'repo.apply_patch', args);
    expect(first.isError).toBe(true);
    const error = errorOf(first);
    expect(error.code).toBe('approval_required');
    const id = error.details?.approvalId as string;
    expect(id).toMatch(/^apr_/);
    const text = (first.content as Array<{ text: string }>)[0]!.text;
    expect(text).toContain(`Approval request: ${id}`);

    // The request lives at the broker, for the MCP caller, asked for by the MCP server's identity.
    const shown = await brokerApi(`/v1/approvals/${id}`);
    expect(shown.status).toBe(200);
    const record = (await shown.json()) as Record<string, unknown>;
    expect(record).toMatchObject({
      id,
      tool: 'repo.apply_patch',
      subject: 'local-user',
      status: 'pending',
    });
    expect(JSON.stringify(record)).toContain('delegate:mcp-gateway');

    const approved = await brokerApi(`/v1/approvals/${id}/approve`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'reviewed' }),
    });
    expect(approved.status, await approved.clone().text()).toBe(200);

    const retry = await callRaw(client, 'repo.apply_patch', args);
    expect(retry.isError ?? false, JSON.stringify(retry)).toBe(false);
    expect(JSON.stringify(retry.structuredContent)).toContain('remote world');
  });

  it('`toolcage mcp approve` on the MCP host points at the broker instead of minting an approval here', async () => {
    const r = await runCli(['mcp', 'approve', 'apr_x', '--config', host.config], {
      cwd: host.dir,
    });
    expect(r.code).not.toBe(0);
    expect(cliError(r)).toMatchObject({
      code: 'request_invalid',
      message: expect.stringContaining(`${broker.url}/v1/approvals/apr_x/approve`),
    });
  });
});
