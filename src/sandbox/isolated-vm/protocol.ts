/**
 * Messages between the host backend and its worker processes (IPC with
 * `serialization: 'advanced'`). Input and ctx travel as JSON text and are
 * parsed inside the isolate, so the worker never holds a host object the
 * guest could reach.
 */
import type { RunFailureCode } from '../../ports/sandbox.ts';

export interface RunMessage {
  t: 'run';
  id: number;
  /** Cache key for the source and its V8 code cache. */
  hash: string;
  /** Sent only when this worker may not have the source for `hash` yet. */
  source?: string;
  /** For stack traces inside the isolate, e.g. `tool:text.word_count@1.0.0`. */
  filename: string;
  timeoutMs: number;
  memoryMb: number;
  maxOutputBytes: number;
  inputJson: string;
  ctxJson: string;
  /** Whether the host opened an egress session for this run (otherwise `ctx.fetch` refuses without asking the host). */
  egress?: boolean;
  /**
   * The boundary's per-run request cap: the worker counts and refuses past it
   * itself, so requests the boundary would refuse anyway never cross the IPC.
   */
  maxRequests?: number;
  /**
   * More runs were waiting at the host when this one was sent: the worker
   * makes no spare context after it (the next run would arrive while the
   * spare is being made and wait for it; making its context on its own path
   * costs less CPU than isolated-vm's asynchronous calls do).
   */
  more?: boolean;
}

export interface AbortMessage {
  t: 'abort';
  id: number;
}

/** The host's answer to a `fetch` of run `id`: the egress boundary's JSON (`{response}` or `{error}`). */
export interface FetchResultMessage {
  t: 'fetch_result';
  id: number;
  seq: number;
  json: string;
}

export type HostMessage = RunMessage | AbortMessage | FetchResultMessage;

export type WorkerReply =
  | { t: 'ready' }
  | { t: 'need_source'; id: number }
  /** The guest's `ctx.fetch` of run `id`, as JSON text for the host's egress boundary (never sent on by the worker itself). */
  | { t: 'fetch'; id: number; seq: number; json: string }
  | ({ t: 'done'; id: number; ok: true; outputJson: string } & Retire)
  | ({ t: 'done'; id: number; ok: false; code: RunFailureCode; message: string } & Retire);

/** `retire`: the worker no longer trusts itself (an isolate died under it); the host replaces it. */
interface Retire {
  retire: boolean;
}

/** The worker keeps at most this many sources; the host resends after it forgets (see WorkerHandle). */
export const WORKER_SOURCE_CACHE_SIZE = 512;
