import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExecutorObserver, Stage } from '../ports/observer.ts';
import type { ConcurrencyStats } from '../governors/concurrency.ts';
import { registerProcessMetrics } from './process-metrics.ts';

/** What the metrics read at scrape time (all optional: a runner without a limiter or Docker has none). */
export interface MetricsSources {
  /** Whether a tool id is in the registry: unknown ids (attacker-chosen) never become label values. */
  isKnownTool(id: string): boolean;
  concurrency?: () => ConcurrencyStats;
  dockerPool?: () => {
    inFlight: number;
    pendingRemovals: number;
    tools: { tool: string; ready: number; filling: number; disabled: boolean }[];
  };
}

const UNKNOWN_TOOL = '_unknown';
const STAGE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * The runner's Prometheus metrics (toolcage's own prefixed `toolcage_`, the
 * process and Node.js defaults under their standard names), fed by the executor's observer hooks (so
 * the pipeline knows nothing of Prometheus) and by gauges read at scrape time.
 * Label values are bounded: tools from the registry, codes from the catalogue.
 *
 * @example
 * ```ts
 * const metrics = new RunnerMetrics();
 * const runner = await createRunner(loaded, { observer: metrics.observer });
 * metrics.attach({ isKnownTool: (id) => runner.registry().get(id) !== undefined, concurrency: () => runner.concurrency!.stats() });
 * ```
 */
export class RunnerMetrics {
  readonly registry = new Registry();
  readonly #calls: Counter<'tool' | 'outcome'>;
  readonly #refusals: Counter<'code'>;
  readonly #stage: Histogram<'stage' | 'tool'>;
  readonly #duration: Histogram<'tool' | 'outcome'>;
  #sources: MetricsSources = { isKnownTool: () => false };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) registerProcessMetrics(this.registry);
    this.#calls = new Counter({
      name: 'toolcage_calls_total',
      help: 'Tool calls decided, by tool and outcome (allowed, refused, failed).',
      labelNames: ['tool', 'outcome'],
      registers,
    });
    this.#refusals = new Counter({
      name: 'toolcage_refusals_total',
      help: 'Refused or failed calls by contract error code.',
      labelNames: ['code'],
      registers,
    });
    this.#stage = new Histogram({
      name: 'toolcage_stage_duration_seconds',
      help: 'Time spent in each pipeline stage.',
      labelNames: ['stage', 'tool'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.#duration = new Histogram({
      name: 'toolcage_call_duration_seconds',
      help: 'Whole-call latency inside the executor, by tool and outcome.',
      labelNames: ['tool', 'outcome'],
      buckets: STAGE_BUCKETS,
      registers,
    });
    const sources = () => this.#sources;
    new Gauge({
      name: 'toolcage_concurrency_running',
      help: 'Runs in progress (all tenants).',
      registers,
      collect() {
        this.set(sources().concurrency?.().running ?? 0);
      },
    });
    new Gauge({
      name: 'toolcage_concurrency_queued',
      help: 'Calls waiting for a run slot (all tenants).',
      registers,
      collect() {
        this.set(sources().concurrency?.().queued ?? 0);
      },
    });
    new Gauge({
      name: 'toolcage_concurrency_tenants_active',
      help: 'Tenants with calls running or waiting.',
      registers,
      collect() {
        this.set(sources().concurrency?.().tenants.length ?? 0);
      },
    });
    new Gauge({
      name: 'toolcage_docker_pool_containers',
      help: 'Warm Docker containers per tool and state (ready, filling).',
      labelNames: ['tool', 'state'],
      registers,
      collect() {
        this.reset();
        for (const t of sources().dockerPool?.().tools ?? []) {
          this.set({ tool: t.tool, state: 'ready' }, t.ready);
          this.set({ tool: t.tool, state: 'filling' }, t.filling);
        }
      },
    });
    new Gauge({
      name: 'toolcage_docker_in_flight',
      help: 'Docker runs in progress.',
      registers,
      collect() {
        this.set(sources().dockerPool?.().inFlight ?? 0);
      },
    });
    new Gauge({
      name: 'toolcage_docker_pending_removals',
      help: 'Docker containers whose removal is under way, being retried, or waiting until the runner is idle.',
      registers,
      collect() {
        this.set(sources().dockerPool?.().pendingRemovals ?? 0);
      },
    });
  }

  /** Where scrape-time gauges read from (set once the runner exists). */
  attach(sources: MetricsSources): void {
    this.#sources = sources;
  }

  #tool(id: string): string {
    return this.#sources.isKnownTool(id) ? id : UNKNOWN_TOOL;
  }

  /** The executor's hooks. */
  readonly observer: ExecutorObserver = {
    stage: (stage: Stage, toolId: string, ms: number) => {
      this.#stage.observe({ stage, tool: this.#tool(toolId) }, ms / 1000);
    },
    outcome: (
      toolId: string,
      outcome: 'allowed' | 'refused' | 'failed',
      code: string | undefined,
      ms: number,
    ) => {
      const tool = this.#tool(toolId);
      this.#calls.inc({ tool, outcome });
      this.#duration.observe({ tool, outcome }, ms / 1000);
      if (code !== undefined) this.#refusals.inc({ code });
    },
  };

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Fans one set of hooks out to several observers (metrics and tracing side by side). */
export function combineObservers(...observers: ExecutorObserver[]): ExecutorObserver {
  return {
    begin(call, toolId) {
      for (const o of observers) o.begin?.(call, toolId);
    },
    stage(stage, toolId, ms, call) {
      for (const o of observers) o.stage(stage, toolId, ms, call);
    },
    outcome(toolId, outcome, code, ms, call) {
      for (const o of observers) o.outcome(toolId, outcome, code, ms, call);
    },
    traceId(call) {
      for (const o of observers) {
        const id = o.traceId?.(call);
        if (id) return id;
      }
      return undefined;
    },
  };
}
