/** Node HTTP plumbing of the MCP Streamable HTTP edge: bodies, JSON answers, the Web Request bridge. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ToolcageError } from '../errors/toolcage-error.ts';

/**
 * The request as the SDK v2 handler reads it: method, URL and headers. No
 * body: the handler is given the body this edge already read (size-checked)
 * and parsed, as `parsedBody`, so it is neither copied nor parsed again.
 */
export function toWebRequest(req: IncomingMessage, resourceUrl: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(new URL(req.url ?? '/', resourceUrl), {
    method: req.method ?? 'POST',
    headers,
  });
}

/** The SDK's answer on the Node response: a JSON answer in one write, an SSE stream as it comes. */
export async function writeWebResponse(answer: Response, res: ServerResponse): Promise<void> {
  res.statusCode = answer.status;
  answer.headers.forEach((value, name) => res.setHeader(name, value));
  if (!answer.body) {
    res.end();
    return;
  }
  if (!answer.headers.get('content-type')?.startsWith('text/event-stream')) {
    const bytes = Buffer.from(await answer.arrayBuffer());
    res.setHeader('content-length', bytes.length);
    res.end(bytes);
    return;
  }
  for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The whole body, or undefined after answering 413 when it passes `limit` bytes. */
export async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      sendRpcError(res, 413, -32600, `Request body above ${limit} bytes.`);
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The parsed body, or undefined after answering a JSON-RPC parse error. */
export function parseJson(raw: Buffer, res: ServerResponse): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    sendRpcError(res, 400, -32700, 'Parse error: the body is not JSON.');
    return undefined;
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A contract error body (outside the JSON-RPC exchange: auth, routes). */
export function sendError(res: ServerResponse, err: ToolcageError, status = err.status): void {
  sendJson(res, status, err.toBody(`req_${randomUUID()}`));
}

export function sendRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new TypeError(`Expected ${name} to be a positive integer, got ${String(value)}`);
  return value;
}
