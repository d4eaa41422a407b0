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
import type ivm from 'isolated-vm';
import type { HostMessage, RunMessage, WorkerReply } from './protocol.ts';
import { answerFetch, fetchBridge } from './fetch-bridge.ts';
import {
  compile,
  disposeSlot,
  markQuiet,
  prepareSpare,
  refuseImport,
  release,
  remember,
  runState,
  slotFor,
  slots,
  sources,
  takeContext,
} from './slots.ts';
import {
  decodeInvokeResult,
  stopped,
  translateIsolateError,
  type Failure,
  type StopReason,
  type Success,
} from './translate.ts';

const MB = 1024 * 1024;
/** How often the outer RSS boundary is checked during a run. */
const RSS_POLL_MS = 5;
let current: { id: number; stop: (reason: StopReason) => void } | undefined;
/** Aborts that arrived before their run started. */
const abortedEarly = new Set<number>();
const queue: RunMessage[] = [];

function send(reply: WorkerReply): void {
  process.send?.(reply);
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
  runState.owned = slot;
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
  const bridge = fetchBridge(msg, send);
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
    runState.owned = undefined;
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
  if (runState.busy) return;
  runState.busy = true;
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
      if (queue.length === 0 && !retire && msg.more !== true) {
        const memoryMb = msg.memoryMb;
        setImmediate(() => void prepareSpare(memoryMb));
      }
    }
  } finally {
    runState.busy = false;
  }
}

process.on('message', (msg: HostMessage) => {
  if (msg.t === 'fetch_result') {
    if (typeof msg.json === 'string') answerFetch(msg.seq, msg.json);
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
