/** What `serve` and `broker serve` share around a service's life: listening and stopping. */

/** Stops a service once on SIGTERM or SIGINT, then exits 0 (1 when the stop itself failed). */
export function stopOnSignals(stop: () => Promise<unknown>, log: (msg: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Node's default for SIGHUP is to exit; a service must never die of a closed terminal or a
  // reload signal. A listener that only logs replaces that default (a reload handler may add its own).
  process.on('SIGHUP', () => log('SIGHUP: the service keeps running'));
}

/**
 * Listens where the command line says (else the config's address); a failed
 * start shuts the service down first, so nothing (workers, stores, sockets)
 * stays open and the process can exit.
 */
export async function listenOrShutdown(
  service: {
    listen(override?: { host?: string; port?: number }): Promise<string>;
    shutdown(): Promise<unknown>;
  },
  opts: { host?: string; port?: string },
): Promise<string> {
  try {
    return await service.listen({
      ...(opts.host ? { host: opts.host } : {}),
      ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
    });
  } catch (err) {
    await service.shutdown().catch(() => undefined);
    throw err;
  }
}
