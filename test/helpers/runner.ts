import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { MemoryAuditSink } from '../../src/audit/audit.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import { createBrokerRuntime } from '../../src/runtime/broker.ts';
import { Broker } from '../../src/broker/broker.ts';
import { loadPolicy } from '../../src/broker/policy.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import type { ErrorCode } from '../../src/errors/catalogue.ts';
import type { ExecuteOutcome } from '../../src/ports/execute.ts';
import { makeWorkspace, type Workspace } from './workspace.ts';
import { SuiteAuditSink } from './suite-output.ts';
import { forge } from './forge.ts';

export interface TestRunner {
  runner: Runner;
  audit: MemoryAuditSink;
  /** A call with a fresh, valid broker claim for `text.word_count`. */
  benign(text?: string): Promise<ExecuteOutcome>;
  close(): Promise<void>;
}

let seq = 0;
export const requestId = (): string => `req_test_${++seq}`;

/** The real runtime of a workspace: SQLite stores, the isolated-vm backend, the verified registry; audit in memory. */
export async function startRunner(ws: Workspace): Promise<TestRunner> {
  const audit = new SuiteAuditSink();
  const runner = await createRunner(ws.loaded, { backends: ['js'], audit });
  const js = runner.backends.js!;
  for (let i = 0; i < 500 && !(await js.health()).usable; i++)
    await new Promise((r) => setTimeout(r, 20));
  const t: TestRunner = {
    runner,
    audit,
    async benign(text = 'one two three') {
      const args = { text };
      const claim = await forge(ws.brokerKey, {
        tool: 'text.word_count',
        args,
        scope: ['text:read'],
      });
      return runner.executor.execute({
        toolId: 'text.word_count',
        args,
        claim,
        requestId: requestId(),
      });
    },
    close: () => runner.close(),
  };
  // Warm the worker (first compile) so that the first measured call is not the cold one; then forget its audit line.
  await t.benign('warm up').catch(() => undefined);
  audit.events.length = 0;
  return t;
}

/** Asserts a refusal: a ToolcageError with this code, and a message matching `message`. */
export async function expectRefusal(
  p: Promise<unknown>,
  code: ErrorCode,
  message: RegExp | string,
): Promise<ToolcageError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected ${code}, got success: ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolcageError);
  const e = err as ToolcageError;
  expect({ code: e.code, message: e.message }).toMatchObject({
    code,
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  });
  return e;
}

/** After an attack, a benign call through the same executor must succeed. */
export async function expectBenignSucceeds(t: TestRunner): Promise<void> {
  const out = await t.benign('after the attack');
  expect(out.result).toEqual({ words: 3, lines: 1, characters: 16 });
}

/** Calls the executor the way every adapter does. */
export function execute(
  t: TestRunner,
  toolId: string,
  args: unknown,
  claim: string | undefined,
): Promise<ExecuteOutcome> {
  return t.runner.executor.execute({ toolId, args, claim, requestId: requestId() });
}

/**
 * One workspace and one runner per test file (beforeAll/afterAll registered
 * here). `prepare` may add tools and relock before the runner starts.
 */
export function useRunner(prepare?: (ws: Workspace) => void | Promise<void>): {
  readonly ws: Workspace;
  readonly t: TestRunner;
} {
  const ctx = {} as { ws: Workspace; t: TestRunner };
  beforeAll(async () => {
    ctx.ws = await makeWorkspace();
    if (prepare) await prepare(ctx.ws);
    ctx.t = await startRunner(ctx.ws);
  });
  afterAll(async () => {
    await ctx.t?.close();
    ctx.ws?.cleanup();
  });
  return ctx;
}

/** The args of a repo.apply_patch call (the high-risk example tool). */
export function patchArgs(replace = 'bye'): {
  files: Record<string, string>;
  edits: Array<{ path: string; find: string; replace: string }>;
} {
  return { files: { 'a.txt': 'hello world' }, edits: [{ path: 'a.txt', find: 'hello', replace }] };
}

/** The broker of the workspace, sharing the runner's stores and registry (approvals land in the same SQLite file). */
export async function brokerFor(t: TestRunner, ws: Workspace, now?: () => number): Promise<Broker> {
  const rt = await createBrokerRuntime(ws.loaded, {
    stores: t.runner.stores,
    registry: t.runner.registry,
  });
  if (!now) return rt.broker;
  const c = ws.loaded.config;
  return new Broker({
    issuer: c.broker.issuer,
    audience: c.runner.audience,
    keys: [ws.brokerKey],
    publicJwks: [],
    policy: loadPolicy(ws.loaded.path(c.broker.policy)),
    registry: t.runner.registry,
    approvals: t.runner.stores.approvals,
    now,
  });
}

/** The instant the clock-attack tests freeze `Date` at, in ms and s. */
export const FROZEN_NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0);
export const FROZEN_NOW_S = FROZEN_NOW_MS / 1000;

/**
 * A runner (as `useRunner`) whose whole file runs with `Date` frozen at
 * FROZEN_NOW_MS (jose and the executor read the time from it; timers stay real).
 */
export function useRunnerOnFrozenClock(): { readonly ws: Workspace; readonly t: TestRunner } {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: FROZEN_NOW_MS });
  });
  afterAll(() => {
    vi.useRealTimers();
  });
  return useRunner();
}
