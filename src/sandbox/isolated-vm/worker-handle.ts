/**
 * One supervised worker process, seen from the host. It carries at most one
 * run at a time, enforces a host-side backstop past the run's own time limit
 * (SIGKILL when the worker does not answer), and turns a worker's death during
 * a run into a failed result.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { RunMessage, WorkerReply } from './protocol.ts';
import { WORKER_SOURCE_CACHE_SIZE } from './protocol.ts';
import { stopped, workerExited, type Failure, type Success } from './translate.ts';

const STDERR_TAIL = 4096;

/** The worker module sits next to this one: .ts when run from source (type stripping), .js from dist. */
const WORKER_URL = new URL(
  './worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'),
  import.meta.url,
);

export interface WorkerRun {
  message: Omit<RunMessage, 't' | 'source'>;
  source: string;
  settle(result: Success | Failure): void;
  /** The run's egress boundary (JSON in, JSON out, never throws); absent for `network: none`. */
  fetch?: (requestJson: string) => Promise<string>;
}

const NO_EGRESS = JSON.stringify({
  error: { kind: 'not_allowed', message: 'This tool declares no network egress (network: none).' },
});

export interface WorkerEvents {
  ready(worker: WorkerHandle): void;
  settled(worker: WorkerHandle): void;
  exited(worker: WorkerHandle): void;
}

export interface WorkerHandleOptions {
  killGraceMs: number;
  maxOldSpaceMb: number;
}

export class WorkerHandle {
  readonly child: ChildProcess;
  ready = false;
  exited = false;
  /** Set once a kill was sent: no new run goes to this worker. */
  killed = false;
  calls = 0;
  run: WorkerRun | undefined;
  readonly exit: Promise<void>;
  /** Hashes whose source this worker has been sent. Cleared well before the worker's own cache could forget one. */
  private readonly sent = new Set<string>();
  private stderrTail = '';
  private backstop: NodeJS.Timeout | undefined;
  /** When the backstop timer fires (performance.now), if armed. */
  private backstopDue = Infinity;
  /** When the current run must have answered by, and what it failed as if it has not. */
  private deadline = Infinity;
  private deadlineReason: 'timeout' | 'aborted' = 'timeout';
  private readonly events: WorkerEvents;
  private readonly options: WorkerHandleOptions;

  constructor(events: WorkerEvents, options: WorkerHandleOptions) {
    this.events = events;
    this.options = options;
    this.child = fork(WORKER_URL, [], {
      execArgv: ['--no-node-snapshot', `--max-old-space-size=${options.maxOldSpaceMb}`],
      // Nothing of the runner's environment (tokens, NODE_OPTIONS) is inherited.
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    this.child.on('message', (reply: WorkerReply) => this.onReply(reply));
    this.child.on('error', () => {
      // 'exit' follows (or the spawn failed and nothing runs on this worker)
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        this.ready = false;
        clearTimeout(this.backstop);
        const run = this.run;
        this.run = undefined;
        run?.settle(workerExited(signal ?? `code ${code}`, this.stderrTail));
        this.events.exited(this);
        resolve();
      });
    });
  }

  get idle(): boolean {
    return this.ready && !this.killed && !this.exited && this.run === undefined;
  }

  start(run: WorkerRun): void {
    this.run = run;
    this.calls++;
    if (this.sent.size >= WORKER_SOURCE_CACHE_SIZE / 2) this.sent.clear();
    const withSource = !this.sent.has(run.message.hash);
    this.sent.add(run.message.hash);
    this.send(run, withSource);
    this.armBackstop(run.message.timeoutMs + this.options.killGraceMs, 'timeout');
  }

  abort(run: WorkerRun): void {
    if (this.run !== run) return;
    this.child.send({ t: 'abort', id: run.message.id });
    this.armBackstop(this.options.killGraceMs, 'aborted');
  }

  /**
   * The run must answer within `ms`. One timer per worker, not one per run: it is left armed
   * when a run answers, and when it fires it ends the run then in flight only if that run's own
   * deadline has passed, else re-arms for it (runs end long before it, so it fires about once
   * per time limit). It is moved only when this deadline is earlier than it would fire.
   */
  private armBackstop(ms: number, reason: 'timeout' | 'aborted'): void {
    const now = performance.now();
    this.deadline = now + ms;
    this.deadlineReason = reason;
    if (this.backstop !== undefined && this.backstopDue <= this.deadline) return;
    clearTimeout(this.backstop);
    this.backstopDue = this.deadline;
    this.backstop = setTimeout(() => this.checkBackstop(), ms);
  }

  private checkBackstop(): void {
    this.backstop = undefined;
    this.backstopDue = Infinity;
    const run = this.run;
    if (!run) return; // idle: the next run arms it again
    const left = this.deadline - performance.now();
    if (left > 0) {
      this.backstopDue = this.deadline;
      this.backstop = setTimeout(() => this.checkBackstop(), Math.ceil(left));
      return;
    }
    // The worker did not answer in time: it is stuck or hostile. Kill it.
    this.settle(stopped(this.deadlineReason, run.message.timeoutMs, run.message.memoryMb));
    this.kill();
  }

  kill(): void {
    this.killed = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private send(run: WorkerRun, withSource: boolean): void {
    const message: RunMessage = withSource
      ? { t: 'run', ...run.message, source: run.source }
      : { t: 'run', ...run.message };
    this.child.send(message);
  }

  private settle(result: Success | Failure): void {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    run.settle(result);
    if (this.killed) this.kill();
    this.events.settled(this);
  }

  private onReply(reply: WorkerReply): void {
    switch (reply.t) {
      case 'ready':
        this.ready = true;
        this.events.ready(this);
        return;
      case 'need_source':
        if (this.run?.message.id === reply.id) this.send(this.run, true);
        return;
      case 'fetch': {
        const run = this.run;
        if (run?.message.id !== reply.id || typeof reply.json !== 'string') return;
        const answer = (json: string): void => {
          // Only to the run that asked, and only while it is still this worker's run.
          if (this.run === run && !this.exited && this.child.connected)
            this.child.send({ t: 'fetch_result', id: reply.id, seq: reply.seq, json });
        };
        if (!run.fetch) answer(NO_EGRESS);
        else void run.fetch(reply.json).then(answer);
        return;
      }
      case 'done':
        if (this.run?.message.id !== reply.id) return;
        if (reply.retire) this.killed = true; // no new run goes here; 'exited' replaces it
        this.settle(
          reply.ok
            ? { ok: true, outputJson: reply.outputJson }
            : { ok: false, code: reply.code, message: reply.message },
        );
        return;
    }
  }
}
