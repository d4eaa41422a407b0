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
import { FairQueue } from './fair-queue.ts';

/** The lane of runs whose request names no tenant (direct library use). */
const NO_TENANT = '';

export interface IsolatedVmBackendOptions {
  /** Worker processes, each running one call at a time. Default 2. */
  workers?: number;
  /** Calls after which a worker is replaced by a fresh process. Default 100 000. */
  maxCallsPerWorker?: number;
  /** Runs waiting for a worker beyond which new runs fail with `sandbox_unavailable`. Default 10 000. */
  maxQueue?: number;
  /**
   * How long a run may wait for a worker before it is refused as overload
   * (`sandbox_unavailable` with a retry delay), never as the tool's `timeout`.
   * Default 5 000.
   */
  maxQueueWaitMs?: number;
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
  tenant: string;
  worker?: WorkerHandle;
  done: boolean;
  /** When it was queued (performance.now): refused as overload once it has waited `maxQueueWaitMs`. */
  queuedAt: number;
  /** Called as the run leaves the queue for a worker. */
  begin(): void;
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
  const maxQueueWaitMs = expectInteger(
    'maxQueueWaitMs',
    options.maxQueueWaitMs ?? 5_000,
    1,
    600_000,
  );
  const killGraceMs = expectInteger('killGraceMs', options.killGraceMs ?? 1_000, 1, 60_000);
  const maxOldSpaceMb = expectInteger(
    'workerMaxOldSpaceMb',
    options.workerMaxOldSpaceMb ?? 256,
    32,
    65_536,
  );

  const workers = new Set<WorkerHandle>();
  const queue = new FairQueue<Job>();
  let disposed = false;
  let nextId = 1;
  // The runs waiting for a worker, oldest first: every run may wait the same maxQueueWaitMs, so
  // this is also the order they expire in, and one timer (for the oldest) serves them all.
  const waiting = new Set<Job>();
  let expiryTimer: NodeJS.Timeout | undefined;

  function armExpiry(): void {
    if (expiryTimer !== undefined) return;
    const oldest = waiting.values().next().value;
    if (oldest === undefined) return;
    const left = oldest.queuedAt + maxQueueWaitMs - performance.now();
    expiryTimer = setTimeout(expireWaiting, Math.max(0, Math.ceil(left)));
  }

  function expireWaiting(): void {
    expiryTimer = undefined;
    const now = performance.now();
    for (const job of waiting) {
      if (job.queuedAt + maxQueueWaitMs > now) break;
      waiting.delete(job);
      if (job.worker || !queue.remove(job.tenant, job)) continue;
      job.run.settle(overload(`this run waited ${Math.round(now - job.queuedAt)} ms for one`));
    }
    armExpiry();
  }

  /** The run no longer waits (it left for a worker, or settled). */
  function leaveWaiting(job: Job): void {
    if (!waiting.delete(job) || waiting.size > 0) return;
    clearTimeout(expiryTimer); // nothing waits: no timer holds the process
    expiryTimer = undefined;
  }

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
      if (queue.size === 0) return;
      if (!worker.idle) continue;
      const job = queue.shift();
      if (!job) return;
      leaveWaiting(job);
      job.worker = worker;
      job.run.message.more = queue.size > 0;
      job.begin();
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

    const tenant = typeof request.tenant === 'string' ? request.tenant : NO_TENANT;
    const queuedAt = performance.now();
    let started = queuedAt;
    // ctx.fetch: isolate → worker (ivm.Reference) → this process over IPC → the egress boundary.
    // The boundary stays in the runner, not in the worker, on purpose: the worker is the
    // process an isolate escape would own, so it holds neither a credential nor the policy
    // that decides where requests may go; it only relays JSON. The session opens when the
    // run starts, with the run's own deadline: queue time is not the tool's.
    let session: ReturnType<EgressGateway['open']> | undefined;
    const finish = (result: Success | Failure): RunResult => {
      session?.close();
      return { ...result, durationMs: Math.round((performance.now() - started) * 1000) / 1000 };
    };
    if (signal?.aborted) return finish({ ok: false, code: 'sandbox_failed', message: 'aborted' });
    if (queue.size >= maxQueue) return finish(overload(`${queue.size} runs are waiting`));

    return new Promise<RunResult>((resolve) => {
      const job: Job = {
        done: false,
        tenant,
        queuedAt,
        begin: () => {
          started = performance.now();
          const opened = options.egress?.open(request, Date.now() + timeoutMs);
          if (opened) {
            session = opened;
            job.run.fetch = (json: string) => opened.fetchJson(json);
          }
          job.run.message.egress = opened !== undefined;
          if (opened) job.run.message.maxRequests = options.egress!.limits.maxRequestsPerRun;
          request.onStart?.();
        },
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
            egress: false,
          },
          source: tool.source as string,
          settle: (result) => {
            if (job.done) return;
            job.done = true;
            leaveWaiting(job);
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
        queue.remove(tenant, job);
        job.run.settle({ ok: false, code: 'sandbox_failed', message: 'aborted' });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(tenant, job);
      waiting.add(job);
      dispatch();
      armExpiry(); // a no-op when the run left at once, or a timer already runs
    });
  }

  /** Overload is the node's, not the tool's: `sandbox_unavailable` with a retry delay, never `timeout`. */
  function overload(why: string): Failure {
    return {
      ok: false,
      code: 'sandbox_unavailable',
      message: `All ${size} JS sandbox workers are busy (${why}). Retry after the indicated delay.`,
      retryAfterSeconds: 1,
    };
  }

  return {
    kind: 'js',
    signalsStart: true,
    run,
    async health() {
      const ready = [...workers].filter((worker) => worker.ready && !worker.exited).length;
      const usable = !disposed && ready > 0;
      return {
        usable,
        detail: disposed
          ? 'disposed'
          : `${ready}/${size} isolated-vm workers ready, ${queue.size} runs queued`,
      };
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const job of queue.drain())
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
