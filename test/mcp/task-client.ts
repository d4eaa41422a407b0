/**
 * For the MCP Tasks tests: `toolcage mcp --port 0` as its own process, and a
 * real Tasks client, the ext-tasks 0.2.2 session over the SDK v2 client pinned
 * to 2026-07-28. The SDK client's codecs do not carry the extension's wire
 * shapes, so (as the ext-tasks documentation asks) the host supplies the raw
 * request path for `tools/call` and `tasks/*`: one JSON-RPC POST per request
 * with the 2026-07-28 headers (`Mcp-Method`, `Mcp-Name` mirroring the body).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  createTaskSessionFromClient,
  type TaskEnabledSession,
} from '@modelcontextprotocol/ext-tasks/client';
import { CLI } from './helpers.ts';

export const MODERN = '2026-07-28';

export interface McpProcess {
  url: string;
  output: string[];
  stop(): Promise<void>;
}

/** `toolcage mcp --config FILE --port 0` on loopback; resolves with its URL once it serves. */
export async function startMcpProcess(configFile: string): Promise<McpProcess> {
  const child = spawn(process.execPath, [CLI, 'mcp', '--config', configFile, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`toolcage mcp did not start:\n${output.join('')}`)),
        30_000,
      );
      void exited.then(() => reject(new Error(`toolcage mcp exited:\n${output.join('')}`)));
      child.stderr!.on('data', (chunk: Buffer) => {
        output.push(String(chunk));
        const m = /"mcp":"([^"]+)"/.exec(output.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    return { url, output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface JsonRpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** One 2026-07-28 JSON-RPC request over HTTP, as a raw client sends it. */
export async function rawRequest(
  url: string,
  token: string,
  request: { method: string; params?: Record<string, unknown> },
  signal?: AbortSignal,
): Promise<JsonRpcAnswer> {
  const params = request.params ?? {};
  const name =
    request.method === 'tools/call'
      ? params.name
      : request.method.startsWith('tasks/')
        ? params.taskId
        : undefined;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': request.method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: Math.floor(Math.random() * 1e9), ...request }),
    ...(signal ? { signal } : {}),
  });
  const text = await res.text();
  // JSON, or one SSE event carrying the response.
  const json = res.headers.get('content-type')?.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .pop()
    : text;
  if (!json) throw new Error(`no JSON-RPC answer (HTTP ${res.status}): ${text.slice(0, 300)}`);
  return JSON.parse(json) as JsonRpcAnswer;
}

/** The `_meta` envelope a 2026-07-28 client sends, declaring the Tasks extension. */
export function taskEnvelope(): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'raw-tasks', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': {
      extensions: { 'io.modelcontextprotocol/tasks': {} },
    },
  };
}

export interface TaskClient {
  client: Client;
  session: TaskEnabledSession<unknown>;
  close(): Promise<void>;
}

/** An SDK v2 client (2026-07-28) and an ext-tasks session on it, as `token`'s identity. */
export async function connectTaskClient(
  url: string,
  token: string,
  options: Pick<Parameters<typeof createTaskSessionFromClient>[1], 'onInputRequest'> = {},
): Promise<TaskClient> {
  const clientInfo = { name: 'toolcage-tasks-test', version: '1.0.0' };
  const client = new Client(clientInfo, { versionNegotiation: { mode: { pin: MODERN } } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  const session = createTaskSessionFromClient(client, {
    endpointId: url,
    ...options,
    rawDispatch: async (request, dispatch) => {
      const answer = await rawRequest(
        url,
        token,
        request as { method: string; params?: Record<string, unknown> },
        dispatch?.signal,
      );
      return answer.error
        ? { kind: 'error', error: answer.error as never }
        : { kind: 'result', result: answer.result as never };
    },
    v2RequestFraming: { protocolVersion: MODERN, clientInfo, clientCapabilities: {} },
  });
  return {
    client,
    session,
    async close() {
      await session.close();
      await client.close();
    },
  };
}

/** Every record of the workspace's audit trail (each service's chain: `.toolcage/audit*.log`). */
export function readTrail(dir: string): Array<Record<string, any>> {
  const stateDir = join(dir, '.toolcage');
  const out: Array<Record<string, any>> = [];
  for (const f of readdirSync(stateDir)) {
    if (!/^audit.*\.log$/.test(f)) continue;
    for (const line of readFileSync(join(stateDir, f), 'utf8').split('\n'))
      if (line.trim()) out.push(JSON.parse(line) as Record<string, any>);
  }
  return out;
}

/**
 * The person behind a task-capable client: reads the approval page named in a
 * task's URL elicitation, decides there (`decide`, by the approval's id), and
 * answers the elicitation. Each request's params are kept in `asked`.
 */
export function approvingPerson(
  asked: Array<Record<string, unknown>>,
  decide: (approvalId: string) => Promise<void>,
): never {
  return (async (request: { kind: string; params?: Record<string, unknown> }) => {
    asked.push(request.params ?? {});
    const id = /\/console\/approvals\/(apr_[A-Za-z0-9_-]+)$/.exec(
      String(request.params?.url ?? ''),
    )?.[1];
    if (id) await decide(id);
    return { action: 'accept' };
  }) as never;
}
