import { createHmac, randomUUID } from 'node:crypto';
import type { ApprovalView } from './approval-view.ts';

export interface ApprovalWebhookOptions {
  url: string;
  /** The HMAC-SHA256 key; receivers verify `x-toolcage-signature` with it. */
  secret: string;
  timeoutMs?: number;
  maxAttempts?: number;
  /** Delay before the first retry; doubles each attempt. */
  backoffMs?: number;
  /** Where a delivery that never succeeded is reported (never with the body). */
  onGiveUp?: (info: {
    delivery: string;
    approvalId: string;
    attempts: number;
    error: string;
  }) => void;
  fetch?: typeof fetch;
}

/** `sha256=<hex>` over `<timestamp>.<body>`: what a receiver recomputes to trust a delivery. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Tells a team's endpoint (chat, paging) about each new pending approval
 * request: a JSON POST signed with HMAC-SHA256 (`x-toolcage-signature`, over
 * `x-toolcage-timestamp` + "." + body, so a replay is datable), retried with
 * exponential backoff on a network error or a non-2xx answer. The body is the
 * request's public view, whose arguments are already masked where the
 * manifest marks them `writeOnly`. Delivery never blocks or fails the call.
 */
export class ApprovalWebhook {
  readonly #o: Required<Omit<ApprovalWebhookOptions, 'onGiveUp'>> &
    Pick<ApprovalWebhookOptions, 'onGiveUp'>;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: ApprovalWebhookOptions) {
    if (typeof options?.url !== 'string' || !/^https?:\/\//.test(options.url))
      throw new TypeError(`Expected url to be an http(s) URL, got ${String(options?.url)}`);
    if (typeof options.secret !== 'string' || options.secret.length < 16)
      throw new TypeError('Expected secret to be a string of at least 16 characters');
    this.#o = {
      timeoutMs: 5_000,
      maxAttempts: 5,
      backoffMs: 500,
      fetch: globalThis.fetch,
      ...options,
    };
  }

  notify(view: ApprovalView): void {
    if (this.#closed) return;
    const p = this.#deliver(view).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  async #deliver(view: ApprovalView): Promise<void> {
    const delivery = randomUUID();
    const body = JSON.stringify({ event: 'approval.pending', delivery, approval: view });
    let error = '';
    for (let attempt = 1; attempt <= this.#o.maxAttempts; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const r = await this.#o.fetch(this.#o.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-toolcage-event': 'approval.pending',
            'x-toolcage-delivery': delivery,
            'x-toolcage-timestamp': timestamp,
            'x-toolcage-signature': signWebhook(this.#o.secret, timestamp, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        });
        await r.body?.cancel();
        if (r.status >= 200 && r.status < 300) return;
        error = `HTTP ${r.status}`;
      } catch (err) {
        error = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network error';
      }
      if (attempt < this.#o.maxAttempts && !this.#closed)
        await new Promise((r) => setTimeout(r, this.#o.backoffMs * 2 ** (attempt - 1)));
      else break;
    }
    this.#o.onGiveUp?.({ delivery, approvalId: view.id, attempts: this.#o.maxAttempts, error });
  }

  /** Waits until every delivery has succeeded or used up its attempts. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Stops retrying and waits for the attempts in flight (each bounded by its timeout): shutdown never waits out a backoff. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }
}
