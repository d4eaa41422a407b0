/**
 * A sandbox worker process (forked by WorkerHandle with --no-node-snapshot). It runs one tool call at a time in a warm isolate per memory
 * limit, with a fresh context per call, and is expendable: a catastrophic
 * isolated-vm error or a V8 OOM ends this process, never the runner.
 *
 * Per call: fresh context → prelude (cached Script) → tool module (compiled
 * with its V8 code cache) → `invoke`. The isolate is disposed, and a new one
 * made on the next call, after a timeout, an abort, a memory-limit hit, or
 * any isolate-level failure.
 */
import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import type { HostMessage, RunMessage, WorkerReply } from './protocol.ts';
import { WORKER_SOURCE_CACHE_SIZE } from './protocol.ts';
import {
  decodeInvokeResult,
  stopped,
  translateIsolateError,
  type Failure,
  type StopReason,
  type Success,
} from './translate.ts';

const MB = 1024 * 1024;
/** Fresh isolates are cheap enough (~2.5 ms) to bound fragmentation by recycling them now and then. */
const CALLS_PER_ISOLATE = 5_000;
/** Distinct memory limits kept warm at once. */
const MAX_SLOTS = 4;
/** How often the outer RSS boundary is checked during a run. */
const RSS_POLL_MS = 5;
/**
 * CPU an isolate may show between runs (ns) before it counts as guest code
 * running with no run to bound it. Releasing handles costs no isolate time;
 * the slack only absorbs clock granularity.
 */
const IDLE_CPU_SLACK_NS = 2_000_000n;
/** How often isolates that no run owns are checked for CPU they should not be using. */
const IDLE_CHECK_MS = 20;
/**
 * CPU a spare context's preparation (a context and the prelude, ~0.5 ms) may
 * use and still count as the worker's own work, not a guest's.
 */
const PREPARE_CPU_SLACK_NS = 10_000_000n;

const PRELUDE_SOURCE = readFileSync(
  new URL('../../../sandboxes/isolated-vm/prelude.js', import.meta.url),
  'utf8',
);

interface Slot {
  memoryMb: number;
  isolate: ivm.Isolate;
  prelude: ivm.Script;
  calls: number;
  /** The isolate's CPU time when it was last left quiet (after a run or a spare's preparation). */
  quietCpu: bigint;
  /** A spare context is being prepared: settles when it is done (a run waits for it). */
  preparing?: Promise<void> | undefined;
  /**
   * A context made and preluded while the worker was idle, never yet shown to
   * any tool: the next call takes it instead of paying for a new one on its
   * own path. Still one fresh context per call; it is only made earlier.
   */
  spare?: Prepared | undefined;
}

interface Prepared {
  context: ivm.Context;
  invoke: ivm.Reference;
}

const slots = new Map<number, Slot>();
const sources = new Map<string, string>();
const codeCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
let current: { id: number; stop: (reason: StopReason) => void } | undefined;
/** The slot the current run uses: its CPU is the run's, bounded by the run's own limits. */
let owned: Slot | undefined;
/** Aborts that arrived before their run started. */
const abortedEarly = new Set<number>();
const queue: RunMessage[] = [];
let busy = false;

function send(reply: WorkerReply): void {
  process.send?.(reply);
}

function newSlot(memoryMb: number): Slot {
  const isolate = new ivm.Isolate({
    memoryLimit: memoryMb,
    // isolated-vm's advice: the process is no longer trustworthy, end it. The
    // host sees the exit, fails the in-flight call and forks a replacement.
    onCatastrophicError: () => process.abort(),
  });
  const prelude = isolate.compileScriptSync(PRELUDE_SOURCE, { filename: 'toolcage:prelude' });
  return { memoryMb, isolate, prelude, calls: 0, quietCpu: isolate.cpuTime };
}

/**
 * True while no code has run in the isolate since it was left quiet. Guest
 * code that runs between runs (a continuation that escaped the prelude's
 * gate, whatever the route) shows up here as CPU time no run accounts for.
 */
function isQuiet(slot: Slot): boolean {
  return !slot.isolate.isDisposed && slot.isolate.cpuTime - slot.quietCpu <= IDLE_CPU_SLACK_NS;
}

function markQuiet(slot: Slot): void {
  if (!slot.isolate.isDisposed) slot.quietCpu = slot.isolate.cpuTime;
}

function slotFor(memoryMb: number): Slot {
  const existing = slots.get(memoryMb);
  if (existing && isQuiet(existing) && existing.calls < CALLS_PER_ISOLATE) {
    slots.delete(memoryMb);
    slots.set(memoryMb, existing); // most recently used last
    return existing;
  }
  if (existing) disposeSlot(existing);
  while (slots.size >= MAX_SLOTS) {
    const oldest = slots.values().next().value;
    if (!oldest) break;
    disposeSlot(oldest);
  }
  const slot = newSlot(memoryMb);
  slots.set(memoryMb, slot);
  return slot;
}

function prepare(slot: Slot, timeoutMs: number): Prepared {
  const context = slot.isolate.createContextSync();
  try {
    return {
      context,
      invoke: slot.prelude.runSync(context, {
        reference: true,
        timeout: timeoutMs,
      }) as ivm.Reference,
    };
  } catch (err) {
    release(context);
    throw err;
  }
}

/** The slot's spare context if it has one, else a new one. */
function takeContext(slot: Slot, timeoutMs: number): Prepared {
  const spare = slot.spare;
  slot.spare = undefined;
  return spare ?? prepare(slot, timeoutMs);
}

/**
 * Prepares the next call's context while idle (after the reply is sent). It
 * uses isolated-vm's async calls: should guest code ever run in the isolate
 * between runs, a synchronous call would block this process behind it, and
 * with it the watchdog that disposes such an isolate.
 */
async function prepareSpare(memoryMb: number): Promise<void> {
  const slot = slots.get(memoryMb);
  if (busy || !slot || slot.spare || slot.preparing || !isQuiet(slot)) return;
  const cpuBefore = slot.isolate.cpuTime;
  let prepared: Prepared | undefined;
  const preparing = (async () => {
    try {
      const context = await slot.isolate.createContext();
      prepared = { context, invoke: undefined as unknown as ivm.Reference };
      prepared.invoke = (await slot.prelude.run(context, {
        reference: true,
        timeout: 1000,
      })) as ivm.Reference;
    } catch {
      // the next call makes its own
    }
  })();
  slot.preparing = preparing;
  await preparing;
  slot.preparing = undefined;
  if (!prepared?.invoke || slot.spare || slot.isolate.isDisposed || slots.get(memoryMb) !== slot) {
    release(prepared?.invoke);
    release(prepared?.context);
    return;
  }
  slot.spare = prepared;
  // The preparation's CPU is this worker's, not a guest's: the slot is quiet again when that is
  // all it used. (Before, a run that arrived mid-preparation found the slot "restless" and paid
  // for a new isolate and prelude: under load, nearly every call.) More than that stays counted.
  if (owned !== slot && slot.isolate.cpuTime - cpuBefore <= PREPARE_CPU_SLACK_NS) markQuiet(slot);
}

/**
 * Disposes every isolate that no run owns and that used CPU since it was left
 * quiet: whatever guest code that is, it runs with no time limit, on the CPU
 * the next calls (of other tools and tenants) need.
 */
function disposeRestless(): void {
  for (const slot of [...slots.values()]) {
    // A preparation's own CPU is judged when it ends (prepareSpare), not while it runs.
    if (slot !== owned && !slot.preparing && !isQuiet(slot)) disposeSlot(slot);
  }
}
setInterval(disposeRestless, IDLE_CHECK_MS).unref();

function releaseSpare(slot: Slot): void {
  release(slot.spare?.invoke);
  release(slot.spare?.context);
  slot.spare = undefined;
}

function disposeSlot(slot: Slot): void {
  releaseSpare(slot);
  if (slots.get(slot.memoryMb) === slot) slots.delete(slot.memoryMb);
  try {
    if (!slot.isolate.isDisposed) slot.isolate.dispose();
  } catch {
    // already gone
  }
}

function remember(hash: string, source: string): void {
  if (sources.has(hash)) return;
  sources.set(hash, source);
  if (sources.size > WORKER_SOURCE_CACHE_SIZE) {
    const oldest = sources.keys().next().value;
    if (oldest !== undefined) {
      sources.delete(oldest);
      codeCache.get(oldest)?.release();
      codeCache.delete(oldest);
    }
  }
}

function compile(slot: Slot, hash: string, source: string, filename: string): ivm.Module {
  const cached = codeCache.get(hash);
  if (cached) return slot.isolate.compileModuleSync(source, { filename, cachedData: cached });
  const module = slot.isolate.compileModuleSync(source, { filename, produceCachedData: true });
  const produced = (module as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> })
    .cachedData;
  if (produced) codeCache.set(hash, produced);
  return module;
}

function refuseImport(specifier: string): never {
  throw new Error(
    `toolcage: The tool imports "${specifier.slice(0, 80)}"; tools are single modules and may not import anything.`,
  );
}

function release(handle: { release(): void } | undefined): void {
  try {
    handle?.release();
  } catch {
    // the isolate was disposed under it
  }
}

/**
 * `ctx.fetch`'s bridge: a Reference the guest calls with the request as JSON
 * text. The worker relays it to the host over IPC and hands back the host's
 * JSON answer; it never makes a connection or sees a credential itself. The
 * bridge dies with the run: later calls get a refusal, and answers still
 * pending when the run ends are dropped, never settled into the guest (that
 * would run the guest's continuations after its run). `close` says whether any
 * were pending, so the caller can retire an isolate that holds such promises.
 */
const pendingFetches = new Map<number, (json: string) => void>();
let fetchSeq = 0;
const MAX_FETCH_JSON = 4 * MB;
const MAX_FETCHES_IN_FLIGHT = 8;
const refusal = (kind: string, message: string): string =>
  JSON.stringify({ error: { kind, message } });
const NO_EGRESS = refusal('not_allowed', 'This tool declares no network egress (network: none).');
const RUN_OVER = refusal('closed', 'The run is over; no more requests.');

function fetchBridge(msg: RunMessage): { ref: ivm.Reference; close(): boolean } {
  let open = true;
  let count = 0;
  const mine = new Set<number>();
  const ref = new ivm.Reference(async (json: unknown): Promise<string> => {
    if (!open) return RUN_OVER;
    if (!msg.egress) return NO_EGRESS;
    if (typeof json !== 'string' || json.length > MAX_FETCH_JSON)
      return refusal('too_large', 'The request is too large.');
    // Counted here, not only at the boundary: past the cap nothing is relayed (no 4 MB messages to parse).
    if (msg.maxRequests !== undefined && ++count > msg.maxRequests)
      return refusal('limit', `A run may make at most ${msg.maxRequests} requests.`);
    if (mine.size >= MAX_FETCHES_IN_FLIGHT)
      return refusal(
        'limit',
        `At most ${MAX_FETCHES_IN_FLIGHT} requests may be in flight at once.`,
      );
    const seq = ++fetchSeq;
    mine.add(seq);
    return new Promise<string>((resolve) => {
      pendingFetches.set(seq, (answer) => {
        mine.delete(seq);
        pendingFetches.delete(seq);
        resolve(answer);
      });
      send({ t: 'fetch', id: msg.id, seq, json });
    });
  });
  return {
    ref,
    close() {
      open = false;
      for (const seq of mine) pendingFetches.delete(seq);
      const outstanding = mine.size > 0;
      mine.clear();
      return outstanding;
    },
  };
}

/**
 * Whether an isolate holds at least half its memory limit (V8 heap plus
 * array buffers): the evidence that an allocation RangeError came from the
 * limit, not from the tool throwing one or from V8's fixed string cap.
 */
function isNearLimit(isolate: ivm.Isolate, memoryMb: number): boolean {
  if (isolate.isDisposed) return true;
  try {
    const h = isolate.getHeapStatisticsSync();
    return h.used_heap_size + h.externally_allocated_size >= (memoryMb * MB) / 2;
  } catch {
    return true; // the isolate died under the check: that is memory trouble
  }
}

/** The worker is tainted and the host should replace it (see `execute`). */
let retire = false;

async function execute(msg: RunMessage, source: string): Promise<Success | Failure> {
  // A spare being prepared for this limit is this run's context: wait for it rather than judge
  // the slot by CPU the preparation is using right now.
  await slots.get(msg.memoryMb)?.preparing;
  const slot = slotFor(msg.memoryMb);
  slot.calls++;
  let reason: StopReason | undefined;
  let onStopped: () => void = () => {};
  const whenStopped = new Promise<'stopped'>((resolve) => {
    onStopped = () => resolve('stopped');
  });
  const stop = (why: StopReason): void => {
    if (reason) return;
    reason = why;
    disposeSlot(slot);
    onStopped();
  };
  current = { id: msg.id, stop };
  owned = slot;
  // Outer memory boundary: isolated-vm's limit is soft (2-3x) and blind to
  // memory V8 reserves outside its allocator; the process RSS is not.
  const rssCap = process.memoryUsage.rss() + (msg.memoryMb * 3 + 48) * MB;
  const timer = setTimeout(() => stop('timeout'), msg.timeoutMs);
  const watch = setInterval(() => {
    // Measured: when isolated-vm disposes an isolate for its memory limit
    // during `Reference.apply` with `result.promise`, the apply never
    // settles. Notice the disposal here instead of waiting for it.
    if (slot.isolate.isDisposed || process.memoryUsage.rss() > rssCap) stop('memory');
  }, RSS_POLL_MS);
  const guarded = <T>(work: Promise<T>): Promise<T | 'stopped'> =>
    Promise.race([work, whenStopped]);
  let context: ivm.Context | undefined;
  let invoke: ivm.Reference | undefined;
  let module: ivm.Module | undefined;
  let namespace: ivm.Reference | undefined;
  const bridge = fetchBridge(msg);
  try {
    ({ context, invoke } = takeContext(slot, msg.timeoutMs));
    module = compile(slot, msg.hash, source, msg.filename);
    module.instantiateSync(context, refuseImport);
    // Guest code runs only in the async calls below, so this process's event
    // loop stays free for the timer and the watch.
    await guarded(module.evaluate({ timeout: msg.timeoutMs }));
    if (reason) return stopped(reason, msg.timeoutMs, msg.memoryMb);
    // Each `namespace` access makes a Reference that pins the context until
    // released (measured: without the release, released contexts are never
    // collected and a 32 MB isolate dies within ~300 calls).
    namespace = module.namespace;
    const out: unknown = await guarded(
      invoke.apply(
        undefined,
        [namespace.derefInto(), msg.inputJson, msg.ctxJson, msg.maxOutputBytes, bridge.ref],
        {
          result: { promise: true, copy: true },
          timeout: msg.timeoutMs,
        },
      ),
    );
    if (reason) return stopped(reason, msg.timeoutMs, msg.memoryMb);
    return decodeInvokeResult(out, msg.maxOutputBytes, msg.timeoutMs, msg.memoryMb, () =>
      isNearLimit(slot.isolate, msg.memoryMb),
    );
  } catch (err) {
    if (reason) return stopped(reason, msg.timeoutMs, msg.memoryMb);
    const failure = translateIsolateError(err, msg.timeoutMs, msg.memoryMb);
    // After a timeout or memory trouble the isolate is not reused.
    if (failure.code !== 'sandbox_failed' || slot.isolate.isDisposed) disposeSlot(slot);
    if (failure.code === 'memory_limit') retire = true;
    return failure;
  } finally {
    clearTimeout(timer);
    clearInterval(watch);
    current = undefined;
    owned = undefined;
    // Host calls still pending hold promises of this run inside the isolate:
    // they will never settle, and the isolate is not reused around them.
    if (bridge.close()) disposeSlot(slot);
    release(bridge.ref);
    // A run stopped for memory may leave a native call of isolated-vm's hanging
    // on the disposed isolate; the whole process is replaced rather than trusted.
    if (reason === 'memory') retire = true;
    release(namespace);
    release(invoke);
    release(module);
    release(context);
    markQuiet(slot);
  }
}

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    for (let msg = queue.shift(); msg; msg = queue.shift()) {
      if (msg.source !== undefined) remember(msg.hash, msg.source);
      const source = sources.get(msg.hash);
      if (source === undefined) {
        send({ t: 'need_source', id: msg.id });
        continue;
      }
      const result = abortedEarly.delete(msg.id)
        ? stopped('aborted', msg.timeoutMs, msg.memoryMb)
        : await execute(msg, source);
      send(
        result.ok
          ? { t: 'done', id: msg.id, ok: true, outputJson: result.outputJson, retire }
          : {
              t: 'done',
              id: msg.id,
              ok: false,
              code: result.code,
              message: result.message,
              retire,
            },
      );
      if (queue.length === 0 && !retire) {
        const memoryMb = msg.memoryMb;
        setImmediate(() => void prepareSpare(memoryMb));
      }
    }
  } finally {
    busy = false;
  }
}

process.on('message', (msg: HostMessage) => {
  if (msg.t === 'fetch_result') {
    if (typeof msg.json === 'string') pendingFetches.get(msg.seq)?.(msg.json);
    return;
  }
  if (msg.t === 'abort') {
    if (current?.id === msg.id) current.stop('aborted');
    else if (queue.some((queued) => queued.id === msg.id)) abortedEarly.add(msg.id);
    return;
  }
  queue.push(msg);
  void drain();
});

process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
