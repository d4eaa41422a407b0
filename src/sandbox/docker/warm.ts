import type { Duplex } from 'node:stream';
import type { RunFailureCode } from '../../ports/sandbox.ts';
import type { ContainerSpec, DockerApi } from './api.ts';
import { Demuxer, type CappedOutput } from './demux.ts';
import { CONTAINER_GATE_PATH } from './build/gate.ts';
import { EngineLostError } from './engine-monitor.ts';
import { newNonce, trailerFor } from './trailer.ts';

/**
 * A started container blocked reading its stdin, attached, with its exit
 * already being awaited: a call only writes its input and reads the result.
 * Used for exactly one call.
 */
export interface WarmContainer {
  readonly id: string;
  readonly createdAt: number;
  readonly stream: Duplex;
  readonly demux: Demuxer;
  /** Settles when the container stops (or the wait request fails). */
  readonly exited: Promise<{ statusCode: number } | { error: unknown }>;
  /** Settles when the attach stream ends: all output is in. */
  readonly drained: Promise<void>;
  /** True once `exited` settled: a pooled container that exited before use is useless. */
  readonly isDone: () => boolean;
  /** Whether the pool gate is its pid 1: it then takes a nonce before the input and reports a success itself. */
  readonly gated: boolean;
  /** Set by the first caller to claim it, so it is never used twice. */
  used: boolean;
  /** Called when stdout passes its cap (set per call). */
  onOverflow: () => void;
}

export interface PrepareOptions {
  maxStdoutBytes: number;
  maxStderrBytes: number;
}

/**
 * Creates, attaches to and starts a container, and starts waiting for its
 * exit. Attaching before start means no output is ever missed. On any
 * failure the half-made container is handed to `discard` and the error
 * rethrown.
 */
export async function prepareContainer(
  api: DockerApi,
  spec: ContainerSpec,
  options: PrepareOptions,
  discard: (id: string) => void,
): Promise<WarmContainer> {
  const id = await api.createContainer(spec);
  try {
    const stream = await api.attach(id);
    stream.on('error', () => undefined);
    let onOverflow = (): void => undefined;
    const demux = new Demuxer(stream, {
      maxStdoutBytes: options.maxStdoutBytes,
      maxStderrBytes: options.maxStderrBytes,
      onStdoutOverflow: () => onOverflow(),
    });
    const drained = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    await api.start(id);
    let done = false;
    const exited = api.wait(id).then(
      (r) => ({ statusCode: r.StatusCode }),
      (error: unknown) => ({ error }),
    );
    void exited.finally(() => {
      done = true;
    });
    const warm: WarmContainer = {
      id,
      createdAt: Date.now(),
      stream,
      demux,
      exited,
      drained,
      isDone: () => done,
      gated: spec.Entrypoint[0] === CONTAINER_GATE_PATH,
      used: false,
      get onOverflow() {
        return onOverflow;
      },
      set onOverflow(fn: () => void) {
        onOverflow = fn;
      },
    };
    return warm;
  } catch (err) {
    discard(id);
    throw err;
  }
}

/** How one call on a container ended, before it is turned into a RunResult. */
export type CallOutcome =
  /**
   * The tool ran to its exit. `by: 'gate'`: the gate's trailer said it exited 0 and the call
   * answers before the engine reports the container stopped (it is stopping: the gate, its
   * pid 1, exits right after); `by: 'engine'`: the engine reported the exit status.
   */
  | { kind: 'exited'; statusCode: number; output: CappedOutput; by: 'gate' | 'engine' }
  | { kind: 'timeout'; output: CappedOutput; pids?: number }
  | { kind: 'overflow'; output: CappedOutput }
  | { kind: 'aborted'; output: CappedOutput }
  /** The engine stopped answering: the call is abandoned at once, the container removed when it is back. */
  | { kind: 'engine_lost'; output: CappedOutput }
  | { kind: 'broken'; error: unknown; output: CappedOutput };

export interface CallOptions {
  input: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Stops the container now and resolves when it no longer runs (the backend's forced removal). */
  stop: (id: string) => Promise<void>;
  /** Reads the current process count before a timeout kill (to say whether the pids limit was the cause). */
  probePids?: (id: string) => Promise<number | undefined>;
}

/**
 * Runs one call on a warm container: writes the input, closes stdin, and
 * waits for the first of exit, timeout, stdout overflow or abort. On every
 * path but a clean exit the container is stopped before this resolves, so a
 * timed-out tool uses no CPU after the caller hears `timeout`.
 */
export async function callContainer(
  warm: WarmContainer,
  options: CallOptions,
): Promise<CallOutcome> {
  warm.used = true;
  let settle!: (outcome: CallOutcome) => void;
  const outcome = new Promise<CallOutcome>((resolve) => {
    settle = resolve;
  });
  let finished = false;
  const finish = async (make: () => Promise<CallOutcome> | CallOutcome): Promise<void> => {
    if (finished) return;
    finished = true;
    try {
      settle(await make());
    } catch (error) {
      settle({ kind: 'broken', error, output: warm.demux.collect() });
    }
  };

  const timer = setTimeout(() => {
    void finish(async () => {
      const pids = options.probePids
        ? await withDeadline(options.probePids(warm.id), 400)
        : undefined;
      await options.stop(warm.id);
      return {
        kind: 'timeout',
        output: warm.demux.collect(),
        ...(pids !== undefined ? { pids } : {}),
      };
    });
  }, options.timeoutMs);
  const onAbort = (): void => {
    if (options.signal?.reason instanceof EngineLostError) {
      // Waiting for a stop the dead engine cannot do would only delay the answer.
      void options.stop(warm.id).catch(() => undefined);
      void finish(() => ({ kind: 'engine_lost', output: warm.demux.collect() }));
      return;
    }
    void finish(async () => {
      await options.stop(warm.id);
      return { kind: 'aborted', output: warm.demux.collect() };
    });
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  warm.onOverflow = () => {
    void finish(async () => {
      await options.stop(warm.id);
      return { kind: 'overflow', output: warm.demux.collect() };
    });
  };
  if (warm.demux.overflow) warm.onOverflow();

  // A gated container's tool succeeded once its gate's trailer with this call's nonce came on
  // both streams; any other ending (non-zero, signal, no or a wrong trailer) waits for the engine.
  let nonce: string | undefined;
  if (warm.gated) {
    nonce = newNonce();
    warm.demux.expectTrailer(trailerFor(nonce), () => {
      // (A stdout overflow would have ended the call already, before the trailer.)
      void finish(() => ({
        kind: 'exited',
        statusCode: 0,
        output: warm.demux.collect(),
        by: 'gate',
      }));
    });
  }

  // The tool may exit without reading all of its input: a write error is not the call's failure.
  warm.stream.write(
    nonce ? Buffer.concat([Buffer.from(`${nonce}\n`, 'latin1'), options.input]) : options.input,
  );
  warm.stream.end();

  void warm.exited.then(async (exit) => {
    if ('error' in exit) {
      await finish(() => ({ kind: 'broken', error: exit.error, output: warm.demux.collect() }));
      return;
    }
    // All output is in once the attach stream ends; it follows the exit closely.
    await withDeadline(warm.drained, 1000);
    await finish(() => {
      const output = warm.demux.collect();
      return warm.demux.overflow
        ? { kind: 'overflow', output }
        : { kind: 'exited', statusCode: exit.statusCode, output, by: 'engine' };
    });
  });

  try {
    return await outcome;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    warm.stream.destroy();
  }
}

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failure code and a short message safe for the agent (never raw tool output). */
export interface Classified {
  code: RunFailureCode;
  message: string;
}
