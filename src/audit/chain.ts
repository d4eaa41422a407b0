import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { kindOf, levelOf, type AuditEntry, type AuditLevel } from './events.ts';

/** The record format version every line carries (`v`). */
export const RECORD_VERSION = 1;

/**
 * One line of the trail: RFC 8785 canonical JSON of the event plus the chain
 * fields. `prev` is the hash of the previous line of the same chain (null for
 * the first), so editing, deleting, inserting or reordering any line breaks
 * the link to the next one.
 */
export interface ChainFields {
  v: number;
  chain: string;
  seq: number;
  prev: string | null;
  time: string;
  level: AuditLevel;
  kind: string;
}

export type AuditRecord = ChainFields & Record<string, unknown>;

/** Checkpoint records seal the chain so far with a JWS over `{chain, seq, head}`. */
export interface CheckpointFields {
  kind: 'checkpoint';
  /** The last record this checkpoint covers (its hash is `prev`). */
  covers: number;
  /** Written at shutdown: nothing follows in this chain. */
  final: boolean;
  /** Compact JWS over canonical `{chain, seq: covers, head: prev}`; absent when no audit key is configured. */
  jws?: string;
}

/** sha256 of a line's bytes (without its newline), base64url. */
export function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('base64url');
}

/** A chain id names one writer (one process instance): `<service>.<uuid>`. */
export function newChainId(service: string): string {
  return `${service.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}.${randomUUID()}`;
}

export interface ChainHead {
  seq: number;
  prev: string | null;
}

/**
 * Seals events into chained canonical lines. Not thread-safe by design: one
 * writer per chain, sealing in the order lines are written.
 */
export class ChainSealer {
  readonly chain: string;
  #head: ChainHead = { seq: 0, prev: null };

  constructor(chain: string) {
    this.chain = chain;
  }

  get head(): ChainHead {
    return { ...this.#head };
  }

  /** Rolls back to a head whose successors were never written. */
  reset(head: ChainHead): void {
    this.#head = { ...head };
  }

  seal(event: AuditEntry, time: Date): string {
    const kind = kindOf(event);
    return this.#line({ ...event, level: levelOf(event), kind }, time);
  }

  sealCheckpoint(fields: Omit<CheckpointFields, 'kind'>, time: Date): string {
    return this.#line({ ...fields, kind: 'checkpoint', level: 'info' }, time);
  }

  #line(body: Record<string, unknown>, time: Date): string {
    const seq = this.#head.seq + 1;
    // Chain fields last, so an event can never override them.
    const record = {
      ...body,
      v: RECORD_VERSION,
      chain: this.chain,
      seq,
      prev: this.#head.prev,
      time: time.toISOString(),
    };
    const line = canonicalize(record);
    if (line === undefined) throw new TypeError('Expected a JSON-serialisable audit event');
    this.#head = { seq, prev: lineHash(line) };
    return line;
  }
}
