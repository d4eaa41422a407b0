import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** ms from connect until the server closed the connection (or the wait ended). */
  closedAfterMs: number;
  closed: boolean;
}

/**
 * Writes raw bytes to an HTTP service, as a client that does not follow the
 * protocol would (chunks with pauses between them), and reads what comes back
 * until the server closes the connection or `waitMs` passes.
 */
export function rawRequest(
  url: string,
  chunks: (string | Buffer)[],
  o: { gapMs?: number; waitMs?: number } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: hostname, port: Number(port) });
    const received: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(waiting);
      socket.destroy();
      const text = Buffer.concat(received).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text;
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0),
        headers,
        body: split >= 0 ? text.slice(split + 4) : '',
        closedAfterMs: performance.now() - started,
        closed,
      });
    };
    const waiting = setTimeout(finish, o.waitMs ?? 5_000);
    socket.on('data', (d) => received.push(d));
    socket.on('error', (err) => {
      if (received.length === 0 && !closed) reject(err);
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('connect', () => {
      let i = 0;
      const next = () => {
        if (i >= chunks.length || socket.destroyed) return;
        socket.write(chunks[i++]!);
        timer = setTimeout(next, o.gapMs ?? 0);
      };
      next();
    });
  });
}
