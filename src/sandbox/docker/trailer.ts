import { randomBytes } from 'node:crypto';

/**
 * The pool gate's success trailer (sandboxes/docker/gate/gate.c): after a
 * tool exits 0, the gate writes `\0toolcage-exit0:<nonce>\n` on stdout and
 * on stderr, after every byte the tool wrote there. The nonce is random per
 * call, sent on stdin before the input and read by the gate before the tool
 * is forked, so the tool never sees it. Only a trailer with this call's
 * nonce on both streams counts; anything else is the tool's own output.
 */
const HEAD = Buffer.from('\0toolcage-exit0:', 'latin1');

/** 32 random bytes as 64 lowercase hex digits: what the gate reads first from stdin. */
export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

/** The exact trailer bytes the gate writes for this nonce. */
export function trailerFor(nonce: string): Buffer {
  return Buffer.concat([HEAD, Buffer.from(`${nonce}\n`, 'latin1')]);
}

/**
 * Finds one exact trailer in a stream of chunks with bounded memory. Bytes
 * that may start the trailer are held back (at most its length) until they
 * match or stop matching, so they never count against an output cap before
 * their fate is known; everything else passes to `emit` at once. After the
 * trailer, the rest of the stream is dropped: nothing written after the gate
 * spoke belongs to the call. The trailer's first byte (NUL) appears nowhere
 * else in it, so a failed match can only restart at the byte that broke it.
 */
export class TrailerScanner {
  private readonly pattern: Buffer;
  private readonly held: Buffer;
  private matched = 0;
  found = false;

  constructor(pattern: Buffer) {
    this.pattern = pattern;
    this.held = Buffer.alloc(pattern.length);
  }

  push(data: Buffer, emit: (bytes: Buffer) => void): void {
    let i = 0;
    while (i < data.length && !this.found) {
      if (this.matched === 0) {
        const j = data.indexOf(0, i);
        if (j < 0) {
          emit(data.subarray(i));
          return;
        }
        if (j > i) emit(data.subarray(i, j));
        i = j;
      }
      const byte = data[i] as number;
      if (byte === this.pattern[this.matched]) {
        this.held[this.matched++] = byte;
        i++;
        if (this.matched === this.pattern.length) this.found = true;
      } else {
        // Not the trailer after all: what was held is the tool's; the byte is looked at again.
        this.release(emit);
      }
    }
  }

  /** The stream ended (or is being read out) without the trailer: held bytes are the tool's. */
  release(emit: (bytes: Buffer) => void): void {
    if (this.found || this.matched === 0) return;
    emit(Buffer.from(this.held.subarray(0, this.matched)));
    this.matched = 0;
  }
}
