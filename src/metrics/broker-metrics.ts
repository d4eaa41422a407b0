import { Counter, Registry } from 'prom-client';
import { registerProcessMetrics } from './process-metrics.ts';

/**
 * The broker's Prometheus metrics: process and Node.js defaults, and its
 * claim requests by HTTP status (a bounded label: statuses, never caller
 * input).
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #claims: Counter<'status'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) registerProcessMetrics(this.registry);
    this.#claims = new Counter({
      name: 'toolcage_broker_claim_requests_total',
      help: 'Claim requests the broker answered, by HTTP status (201: a claim was issued).',
      labelNames: ['status'],
      registers: [this.registry],
    });
  }

  /** One answer to a claim request (the broker's `POST /v1/claims`). */
  claimAnswered(status: number): void {
    this.#claims.inc({ status: String(status) });
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
