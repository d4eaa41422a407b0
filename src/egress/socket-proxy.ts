/**
 * The egress boundary for Docker tools: an HTTP proxy on a Unix socket that
 * is bind-mounted into the container (which keeps `NetworkMode: none`: no
 * interface but `lo`). The tool sends absolute-form requests
 * (`POST http://api.github.com:443/... HTTP/1.1`, or `https://` to have
 * the proxy speak TLS upstream); each one goes through the same
 * EgressSession as a JS tool's `ctx.fetch`: allowlist, address checks,
 * credential injection by destination, caps, response leak scan.
 *
 * CONNECT is refused: a TLS tunnel would hide the request from the
 * boundary, which then could neither inject a credential nor scan the
 * response. The socket lives in a fresh 0700 folder of the runner; only
 * the container it is mounted into can reach it.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EgressSession } from './session.ts';
import { EgressError } from './errors.ts';

/** Where the socket appears inside the container. */
export const CONTAINER_SOCKET_PATH = '/run/toolcage/egress.sock';

export interface SocketProxy {
  /** The socket on the host, to bind-mount at CONTAINER_SOCKET_PATH. */
  path: string;
  close(): Promise<void>;
}

const STATUS: Record<string, number> = {
  not_allowed: 403,
  address_forbidden: 403,
  leak: 403,
  bad_request: 400,
  too_large: 413,
  limit: 429,
  timeout: 504,
  network: 502,
  closed: 503,
};

function refuse(res: ServerResponse, status: number, kind: string, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('x-toolcage-egress', kind);
  res.end(JSON.stringify({ error: { kind, message } }));
}

async function handle(
  session: EgressSession,
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes)
      return refuse(
        res,
        413,
        'too_large',
        `The request body is larger than ${maxBodyBytes} bytes.`,
      );
    chunks.push(chunk);
  }
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (/^proxy-/i.test(name)) continue;
    headers.push([name, req.rawHeaders[i + 1]!]);
  }
  try {
    const out = await session.fetch({
      url: req.url ?? '',
      method: req.method ?? 'GET',
      headers,
      ...(size > 0 ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
    });
    res.statusCode = out.status;
    for (const [k, v] of out.headers) {
      if (['connection', 'transfer-encoding', 'content-length', 'keep-alive'].includes(k)) continue;
      res.appendHeader(k, v);
    }
    res.end(out.body);
  } catch (err) {
    const e = err instanceof EgressError ? err : new EgressError('network', 'The request failed.');
    refuse(res, STATUS[e.kind] ?? 502, e.kind, e.message);
  }
}

/** Starts the proxy for one run's session; `close()` removes the socket and its folder. */
export async function startSocketProxy(
  session: EgressSession,
  options: { maxBodyBytes?: number; dir?: string } = {},
): Promise<SocketProxy> {
  const dir = mkdtempSync(join(options.dir ?? tmpdir(), 'toolcage-egress-'));
  chmodSync(dir, 0o700);
  const path = join(dir, 'egress.sock');
  const server = createServer((req, res) => {
    handle(session, req, res, options.maxBodyBytes ?? 256 * 1024).catch(() => {
      if (!res.headersSent) refuse(res, 502, 'network', 'The request failed.');
      else res.destroy();
    });
  });
  server.on('connect', (_req, socket) => {
    socket.end(
      'HTTP/1.1 405 Method Not Allowed\r\nx-toolcage-egress: bad_request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // The container's uid is not the runner's: the socket is connectable by any uid that can reach the path,
  // and the path's folder is 0700, so on the host only the runner's uid can reach it.
  chmodSync(path, 0o666);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        session.close();
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
