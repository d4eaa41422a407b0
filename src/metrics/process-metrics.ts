import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default gauges whose names end in `_total`: Prometheus keeps
 * that suffix for counters and `promtool check metrics` rejects them. Each is
 * the sum of an unsuffixed gauge that stays (`nodejs_active_handles` by
 * `type`), so nothing is lost: `sum(nodejs_active_handles)` gives the total.
 */
const NOT_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * How often the event-loop delay histogram (`nodejs_eventloop_lag_p99_seconds`
 * and its siblings) samples. prom-client's default, 10 ms, is a timer that
 * wakes the service's main thread ~80-100 times a second, idle or not (about
 * 10-15 µs of CPU per call at 300 calls/s on a 2-core host; docs/performance.md,
 * "HTTP service"). Every 100 ms still takes ~150 samples per 15 s scrape, and
 * a stall of the loop is recorded whenever it ends (the late timer measures it).
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The process and Node.js metrics under their standard, unprefixed names
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_seconds`, ...), which
 * stock Node.js dashboards query. toolcage's own metrics carry `toolcage_`.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  for (const name of NOT_COUNTERS) registry.removeSingleMetric(name);
}
