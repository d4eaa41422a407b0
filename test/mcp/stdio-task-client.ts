/**
 * For the MCP Tasks tests over stdio: the ext-tasks 0.2.2 session on the SDK
 * v2 client pinned to 2026-07-28, connected to `toolcage mcp` spawned as a
 * process. The SDK client's codecs do not carry the extension's wire shapes,
 * so the host supplies the raw request path (`rawDispatch`); over stdio there
 * is one pipe for everything, so that path is a request coordinator on the
 * client's own transport: it sends the framed request with an id of its own
 * and takes that id's response off the pipe before the SDK client sees it.
 */
import {
  Client,
  isJSONRPCErrorResponse,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/client';
import {
  StdioClientTransport,
  type StdioServerParameters,
} from '@modelcontextprotocol/client/stdio';
import { createTaskSessionFromClient } from '@modelcontextprotocol/ext-tasks/client';
import { MODERN, type TaskClient } from './task-client.ts';

export interface JsonRpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

interface Pending {
  resolve(answer: JsonRpcAnswer): void;
  reject(err: Error): void;
}

/**
 * A transport that wraps another and lets the host send raw JSON-RPC requests
 * on the same connection. Raw requests carry string ids (`raw-N`) that the
 * SDK client (numeric ids) never uses, so their responses are told apart.
 */
export class RawDispatchTransport implements Transport {
  readonly #inner: Transport;
  readonly #pending = new Map<string, Pending>();
  #next = 0;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport['onmessage'];

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  setProtocolVersion = (version: string): void => this.#inner.setProtocolVersion?.(version);

  setSupportedProtocolVersions = (versions: string[]): void =>
    this.#inner.setSupportedProtocolVersions?.(versions);

  async start(): Promise<void> {
    this.#inner.onmessage = (message, extra) => {
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
        const waiting = typeof message.id === 'string' ? this.#pending.get(message.id) : undefined;
        if (waiting) {
          this.#pending.delete(message.id as string);
          waiting.resolve(
            isJSONRPCErrorResponse(message)
              ? { error: message.error as NonNullable<JsonRpcAnswer['error']> }
              : { result: message.result },
          );
          return;
        }
      }
      this.onmessage?.(message, extra);
    };
    this.#inner.onerror = (error) => this.onerror?.(error);
    this.#inner.onclose = () => {
      for (const waiting of this.#pending.values())
        waiting.reject(new Error('MCP connection closed'));
      this.#pending.clear();
      this.onclose?.();
    };
    await this.#inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Sends `request` (method and params) as a JSON-RPC request of its own; resolves with its answer. */
  async dispatch(request: unknown, signal?: AbortSignal): Promise<JsonRpcAnswer> {
    const { method, params } = request as { method: string; params?: Record<string, unknown> };
    const id = `raw-${++this.#next}`;
    const answer = new Promise<JsonRpcAnswer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.#pending.delete(id)) return;
          void this.#inner
            .send({
              jsonrpc: '2.0',
              method: 'notifications/cancelled',
              params: { requestId: id },
            })
            .catch(() => undefined);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
    await this.#inner.send({
      jsonrpc: '2.0',
      id,
      method,
      ...(params ? { params } : {}),
    } as JSONRPCMessage);
    return answer;
  }
}

export interface StdioTaskClient extends TaskClient {
  /** The server process's stderr so far (for a failing test's message). */
  stderr: string[];
  /** One raw JSON-RPC request on the same connection, as the session's `rawDispatch` sends it. */
  raw(request: { method: string; params?: Record<string, unknown> }): Promise<JsonRpcAnswer>;
}

/** An SDK v2 client (2026-07-28) over stdio to the spawned server, and an ext-tasks session on it. */
export async function connectStdioTaskClient(
  server: StdioServerParameters,
  options: Pick<Parameters<typeof createTaskSessionFromClient>[1], 'onInputRequest'> = {},
): Promise<StdioTaskClient> {
  const clientInfo = { name: 'toolcage-stdio-tasks-test', version: '1.0.0' };
  const client = new Client(clientInfo, { versionNegotiation: { mode: { pin: MODERN } } });
  const stdio = new StdioClientTransport(server);
  // With `stderr: 'pipe'`: kept for a failing test's message (and drained, so the child never blocks).
  const stderr: string[] = [];
  stdio.stderr?.on('data', (chunk: Buffer) => stderr.push(String(chunk)));
  const transport = new RawDispatchTransport(stdio);
  await client.connect(transport);
  const session = createTaskSessionFromClient(client, {
    endpointId: `stdio:${server.command} ${(server.args ?? []).join(' ')}`,
    ...options,
    rawDispatch: async (request, dispatch) => {
      const answer = await transport.dispatch(request, dispatch?.signal);
      return answer.error
        ? { kind: 'error', error: answer.error as never }
        : { kind: 'result', result: answer.result as never };
    },
    v2RequestFraming: { protocolVersion: MODERN, clientInfo, clientCapabilities: {} },
  });
  return {
    client,
    session,
    stderr,
    raw: (request) => transport.dispatch(request),
    async close() {
      await session.close();
      await client.close();
    },
  };
}
