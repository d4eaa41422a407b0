/** Why a call was abandoned: the engine stopped answering while it ran (never the tool's fault). */
export class EngineLostError extends Error {
  override readonly name = 'EngineLostError';
}

export interface EngineMonitorOptions {
  /** Pings the engine; rejects when it does not answer within `timeoutMs`. */
  ping: (timeoutMs: number) => Promise<void>;
  /** Whether anything is waiting on the engine now (calls in flight): the monitor only pings then. */
  busy: () => boolean;
  /** The engine is gone: abandon what waits on it. */
  onLost: (error: EngineLostError) => void;
  /** The engine answers again after a loss. */
  onBack: () => void;
  /** Default 500 ms. */
  intervalMs?: number;
}

/**
 * Watches the engine while calls are in flight. A killed dockerd does not
 * always end the requests a call waits on (its wait and attach streams can
 * just go silent), so without this a call on a dead engine would sit until
 * its time limit and be reported as the tool's `timeout`. A refused or
 * missing socket is a loss at once; a slow answer (a loaded engine) only
 * after three in a row, so load alone never abandons calls.
 */
export class EngineMonitor {
  private timer: NodeJS.Timeout | undefined;
  private slow = 0;
  private probing = false;
  private lost = false;
  private readonly o: EngineMonitorOptions;

  constructor(options: EngineMonitorOptions) {
    this.o = options;
    this.timer = setInterval(() => void this.tick(), options.intervalMs ?? 500);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.probing || (!this.o.busy() && !this.lost)) return;
    this.probing = true;
    try {
      await this.o.ping(2000);
      this.slow = 0;
      if (this.lost) {
        this.lost = false;
        this.o.onBack();
      }
    } catch (err) {
      // Nobody listens (refused, socket gone): lost. Anything else (a timeout is a reset here): maybe just slow.
      const code = (err as { code?: unknown } | null)?.code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT') this.slow = 3;
      else this.slow++;
      if (this.slow >= 3 && !this.lost) {
        this.lost = true;
        this.o.onLost(
          new EngineLostError('The Docker engine stopped answering during the call.', {
            cause: err,
          }),
        );
      }
    } finally {
      this.probing = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
