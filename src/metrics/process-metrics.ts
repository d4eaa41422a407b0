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
 * The process and Node.js metrics under their standard, unprefixed names
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_seconds`, ...), which
 * stock Node.js dashboards query. toolcage's own metrics carry `toolcage_`.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of NOT_COUNTERS) registry.removeSingleMetric(name);
}
