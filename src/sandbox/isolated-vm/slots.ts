/**
 * The worker's warm isolates, one per memory limit (a "slot"), and what they
 * keep between calls: the compiled prelude, a spare fresh context, the V8
 * code cache of each tool source. Every call still gets a fresh context; an
 * isolate that used CPU no run accounts for (guest code running between
 * runs) is disposed.
 */
import { readFileSync } from 'node:fs';
import ivm from 'isolated-vm';
import { WORKER_SOURCE_CACHE_SIZE } from './protocol.ts';

/** Fresh isolates are cheap enough (~2.5 ms) to bound fragmentation by recycling them now and then. */
const CALLS_PER_ISOLATE = 5_000;
/** Distinct memory limits kept warm at once. */
const MAX_SLOTS = 4;
/**
 * CPU an isolate may show between runs (ns) before it counts as guest code
 * running with no run to bound it. The isolate's own garbage collection runs
 * between runs too and counts as its CPU time (2-3 ms a collection here, up to
 * ~15 ms under load): with a 2 ms slack, one isolate in ~35 was thrown away and
 * rebuilt on the next call's path (docs/performance.md, "HTTP service"). So a
 * guest that ever ran between runs gets at most this much CPU (plus one
 * IDLE_CHECK_MS) before its isolate is disposed.
 */
const IDLE_CPU_SLACK_NS = 30_000_000n;
/** How often isolates that no run owns are checked for CPU they should not be using. */
const IDLE_CHECK_MS = 20;
/**
 * CPU a spare context's preparation (a context and the prelude, ~0.5 ms, and
 * any garbage collection V8 runs meanwhile: 14 ms seen under load) may use and
 * still count as the worker's own work, not a guest's.
 */
const PREPARE_CPU_SLACK_NS = 40_000_000n;

const PRELUDE_SOURCE = readFileSync(
  new URL('../../../sandboxes/isolated-vm/prelude.js', import.meta.url),
  'utf8',
);

export interface Slot {
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

export interface Prepared {
  context: ivm.Context;
  invoke: ivm.Reference;
}

export const slots = new Map<number, Slot>();
export const sources = new Map<string, string>();
const codeCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();
/**
 * What the worker is doing now: `owned` is the slot the current run uses (its
 * CPU is the run's, bounded by the run's own limits); `busy` while runs are
 * being drained (no spare is prepared then).
 */
export const runState: { owned: Slot | undefined; busy: boolean } = {
  owned: undefined,
  busy: false,
};

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

export function markQuiet(slot: Slot): void {
  if (!slot.isolate.isDisposed) slot.quietCpu = slot.isolate.cpuTime;
}

export function slotFor(memoryMb: number): Slot {
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
export function takeContext(slot: Slot, timeoutMs: number): Prepared {
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
export async function prepareSpare(memoryMb: number): Promise<void> {
  const slot = slots.get(memoryMb);
  if (runState.busy || !slot || slot.spare || slot.preparing || !isQuiet(slot)) return;
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
  if (runState.owned !== slot && slot.isolate.cpuTime - cpuBefore <= PREPARE_CPU_SLACK_NS)
    markQuiet(slot);
}

/**
 * Disposes every isolate that no run owns and that used CPU since it was left
 * quiet: whatever guest code that is, it runs with no time limit, on the CPU
 * the next calls (of other tools and tenants) need.
 */
function disposeRestless(): void {
  for (const slot of [...slots.values()]) {
    // A preparation's own CPU is judged when it ends (prepareSpare), not while it runs.
    if (slot !== runState.owned && !slot.preparing && !isQuiet(slot)) disposeSlot(slot);
  }
}
setInterval(disposeRestless, IDLE_CHECK_MS).unref();

function releaseSpare(slot: Slot): void {
  release(slot.spare?.invoke);
  release(slot.spare?.context);
  slot.spare = undefined;
}

export function disposeSlot(slot: Slot): void {
  releaseSpare(slot);
  if (slots.get(slot.memoryMb) === slot) slots.delete(slot.memoryMb);
  try {
    if (!slot.isolate.isDisposed) slot.isolate.dispose();
  } catch {
    // already gone
  }
}

export function remember(hash: string, source: string): void {
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

export function compile(slot: Slot, hash: string, source: string, filename: string): ivm.Module {
  const cached = codeCache.get(hash);
  if (cached) return slot.isolate.compileModuleSync(source, { filename, cachedData: cached });
  const module = slot.isolate.compileModuleSync(source, { filename, produceCachedData: true });
  const produced = (module as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> })
    .cachedData;
  if (produced) codeCache.set(hash, produced);
  return module;
}

export function refuseImport(specifier: string): never {
  throw new Error(
    `toolcage: The tool imports "${specifier.slice(0, 80)}"; tools are single modules and may not import anything.`,
  );
}

export function release(handle: { release(): void } | undefined): void {
  try {
    handle?.release();
  } catch {
    // the isolate was disposed under it
  }
}
