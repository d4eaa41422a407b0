/**
 * The JS sandbox backend: tools run in isolated-vm isolates inside a small
 * pool of supervised worker processes.
 *
 * @example
 * ```ts
 * const backend = createIsolatedVmBackend({ workers: 2 });
 * const result = await backend.run({ invocationId, tool, input, credentials });
 * await backend.dispose();
 * ```
 */
import { createHash } from 'node:crypto';
import type { RunRequest, RunResult, SandboxBackend } from '../../ports/sandbox.ts';
import type { EgressGateway } from '../../egress/gateway.ts';
import { sanitise, type Failure, type Success } from './translate.ts';
import { WorkerHandle, type WorkerRun } from './worker-handle.ts';

export interface IsolatedVmBackendOptions {
  /** Worker processes, each running one call at a time. Default 2. */
  workers?: number;
  /** Calls after which a worker is replaced by a fresh process. Default 100 000. */
  maxCallsPerWorker?: number;
  /** Runs waiting for a worker beyond which new runs fail with `sandbox_unavailable`. Default 10 000. */
  maxQueue?: number;
  /** How long past a run's `timeoutMs` (or an abort) the host waits for the worker before killing it. Default 1 000. */
  killGraceMs?: number;
  /** `--max-old-space-size` of each worker's own Node heap (isolates have their own limits). Default 256. */
  workerMaxOldSpaceMb?: number;
  /**
   * The egress boundary behind `ctx.fetch`. Without it every tool is
   * `network: none`: `ctx.fetch` rejects without leaving the worker.
   */
  egress?: EgressGateway;
}

interface Job {
  run: WorkerRun;
  worker?: WorkerHandle;
  done: boolean;
}

function expectInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `Expected ${name} to be an integer from ${min} to ${max}, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}

function expectLimit(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(
      `Expected tool.limits.${name} to be a positive number, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}

const hashes = new WeakMap<object, string>();

function sourceHashOf(request: RunRequest, source: string): string {
  if (request.tool.sourceHash) return request.tool.sourceHash;
  const cached = hashes.get(request.tool);
  if (cached) return cached;
  const hash = createHash('sha256').update(source).digest('hex');
  hashes.set(request.tool, hash);
  return hash;
}

/** Creates the isolated-vm backend and forks its workers. Options are validated here; a bad option is a TypeError. */
export function createIsolatedVmBackend(options: IsolatedVmBackendOptions = {}): SandboxBackend {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(
      `Expected options to be an object, got ${options === null ? 'null' : typeof options}`,
    );
  const size = expectInteger('workers', options.workers ?? 2, 1, 64);
  const maxCallsPerWorker = expectInteger(
    'maxCallsPerWorker',
    options.maxCallsPerWorker ?? 100_000,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const maxQueue = expectInteger(
    'maxQueue',
    options.maxQueue ?? 10_000,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const killGraceMs = expectInteger('killGraceMs', options.killGraceMs ?? 1_000, 1, 60_000);
  const maxOldSpaceMb = expectInteger(
    'workerMaxOldSpaceMb',
    options.workerMaxOldSpaceMb ?? 256,
    32,
    65_536,
  );

  const workers = new Set<WorkerHandle>();
  const queue: Job[] = [];
  let disposed = false;
  let nextId = 1;

  const events = {
    ready: () => dispatch(),
    settled: (worker: WorkerHandle) => {
      if (worker.calls >= maxCallsPerWorker) worker.kill(); // 'exited' replaces it
      dispatch();
    },
    exited: (worker: WorkerHandle) => {
      workers.delete(worker);
      if (!disposed) spawn();
      dispatch();
    },
  };

  function spawn(): void {
    workers.add(new WorkerHandle(events, { killGraceMs, maxOldSpaceMb }));
  }

  function dispatch(): void {
    for (const worker of workers) {
      if (queue.length === 0) return;
      if (!worker.idle) continue;
      const job = queue.shift();
      if (!job) return;
      job.worker = worker;
      worker.start(job.run);
    }
  }

  for (let i = 0; i < size; i++) spawn();

  async function run(request: RunRequest, signal?: AbortSignal): Promise<RunResult> {
    if (disposed) throw new Error('The isolated-vm backend has been disposed.');
    const tool = request?.tool;
    if (tool?.runtime !== 'js')
      throw new TypeError(`Expected a tool with runtime "js", got ${tool?.runtime ?? typeof tool}`);
    if (typeof tool.source !== 'string')
      throw new TypeError(`Expected tool.source to be a string, got ${typeof tool.source}`);
    const timeoutMs = expectLimit('timeoutMs', tool.limits?.timeoutMs);
    const memoryMb = expectLimit('memoryMb', tool.limits?.memoryMb);
    const maxOutputBytes = expectLimit('maxOutputBytes', tool.limits?.maxOutputBytes);
    const inputJson = JSON.stringify(request.input);
    if (typeof inputJson !== 'string')
      throw new TypeError('Expected input to be a JSON value, got undefined');
    const credentials: Record<string, string> = Object.create(null);
    for (const credential of request.credentials ?? [])
      credentials[credential.as] = credential.value;
    const ctxJson = JSON.stringify({
      invocationId: request.invocationId,
      tool: { id: tool.id, version: tool.version },
      credentials,
    });

    const started = performance.now();
    // ctx.fetch: isolate → worker (ivm.Reference) → this process over IPC → the egress boundary.
    // The boundary stays in the runner, not in the worker, on purpose: the worker is the
    // process an isolate escape would own, so it holds neither a credential nor the policy
    // that decides where requests may go; it only relays JSON. The session's deadline is
    // the run's own (queueing time included, so a queued run cannot stretch its egress).
    const session = options.egress?.open(request, Date.now() + timeoutMs);
    const finish = (result: Success | Failure): RunResult => {
      session?.close();
      return { ...result, durationMs: Math.round((performance.now() - started) * 1000) / 1000 };
    };
    if (signal?.aborted) return finish({ ok: false, code: 'sandbox_failed', message: 'aborted' });
    if (queue.length >= maxQueue)
      return finish({
        ok: false,
        code: 'sandbox_unavailable',
        message: `All ${size} sandbox workers are busy and ${queue.length} runs are waiting. Retry later.`,
      });

    return new Promise<RunResult>((resolve) => {
      const job: Job = {
        done: false,
        run: {
          message: {
            id: nextId++,
            hash: sourceHashOf(request, tool.source as string),
            filename: sanitise(`tool:${tool.id}@${tool.version}`),
            timeoutMs: Math.ceil(timeoutMs),
            memoryMb: Math.max(8, Math.ceil(memoryMb)), // isolated-vm's minimum is 8 MB
            maxOutputBytes: Math.floor(maxOutputBytes),
            inputJson,
            ctxJson,
            egress: session !== undefined,
          },
          source: tool.source as string,
          ...(session ? { fetch: (json: string) => session.fetchJson(json) } : {}),
          settle: (result) => {
            if (job.done) return;
            job.done = true;
            signal?.removeEventListener('abort', onAbort);
            resolve(finish(result));
          },
        },
      };
      const onAbort = (): void => {
        if (job.worker) {
          job.worker.abort(job.run);
          return;
        }
        const index = queue.indexOf(job);
        if (index >= 0) queue.splice(index, 1);
        job.run.settle({ ok: false, code: 'sandbox_failed', message: 'aborted' });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(job);
      dispatch();
    });
  }

  return {
    kind: 'js',
    run,
    async health() {
      const ready = [...workers].filter((worker) => worker.ready && !worker.exited).length;
      const usable = !disposed && ready > 0;
      return {
        usable,
        detail: disposed
          ? 'disposed'
          : `${ready}/${size} isolated-vm workers ready, ${queue.length} runs queued`,
      };
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const job of queue.splice(0))
        job.run.settle({
          ok: false,
          code: 'sandbox_unavailable',
          message: 'The sandbox backend was shut down.',
        });
      const exits = [...workers].map((worker) => worker.exit);
      for (const worker of workers) worker.kill();
      await Promise.all(exits);
    },
  };
}
