import type { FastifyInstance } from 'fastify';
import { ToolcageError } from '../errors/toolcage-error.ts';

/**
 * `app.listen` with the failures an operator can fix said plainly: a busy
 * port or one the process may not bind becomes `config_invalid` naming the
 * address and the config key, not an internal error.
 */
export async function listenOrExplain(
  app: FastifyInstance,
  at: { host: string; port: number; configKey: string },
): Promise<string> {
  if (!Number.isInteger(at.port) || at.port < 0 || at.port > 65535)
    throw new ToolcageError('config_invalid', {
      message: `Cannot listen on port ${String(at.port)}: a port is a whole number from 0 to 65535 (0 picks a free one); check ${at.configKey} or --port.`,
    });
  try {
    await app.listen({ host: at.host, port: at.port });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const where = `${at.host}:${at.port}`;
    const why =
      code === 'EADDRINUSE'
        ? `port ${at.port} on ${at.host} is already in use by another process`
        : code === 'EACCES'
          ? `this process may not bind ${where} (a port below 1024 needs privileges)`
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
            ? `${at.host} is not an address of this machine`
            : undefined;
    if (!why) throw cause;
    throw new ToolcageError('config_invalid', {
      message: `Cannot listen on ${where}: ${why}. Stop the other process or choose another address (${at.configKey}, or --host/--port).`,
      cause,
    });
  }
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') return String(addr);
  return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
}
