import ivm from 'isolated-vm';
import type { RunMessage, WorkerReply } from './protocol.ts';

const MB = 1024 * 1024;

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

export function fetchBridge(
  msg: RunMessage,
  send: (reply: WorkerReply) => void,
): { ref: ivm.Reference; close(): boolean } {
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

/** The host's answer to a bridge request; dropped when its run is over. */
export function answerFetch(seq: number, json: string): void {
  pendingFetches.get(seq)?.(json);
}
