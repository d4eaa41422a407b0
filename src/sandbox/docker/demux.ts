import type { Readable } from 'node:stream';
import { TrailerScanner } from './trailer.ts';

/** What one container wrote, kept within fixed caps. */
export interface CappedOutput {
  stdout: Buffer;
  /** All stdout bytes seen, including those past the cap. */
  stdoutBytes: number;
  stderr: Buffer;
  stderrBytes: number;
}

export interface DemuxOptions {
  /** Keep at most this many stdout bytes; `onStdoutOverflow` fires once when one more arrives. */
  maxStdoutBytes: number;
  /** Keep at most this many stderr bytes; the rest is counted and dropped. */
  maxStderrBytes: number;
  onStdoutOverflow: () => void;
}

/**
 * Reads Docker's multiplexed attach stream (8-byte frame headers: stream
 * type, 3 zero bytes, big-endian payload length; Engine API "Attach to a
 * container", stream format) and keeps stdout and stderr apart, each within
 * its cap. Memory use is bounded by the caps plus one socket chunk, whatever
 * the container writes: nothing is buffered beyond the caps.
 */
export class Demuxer {
  readonly output: CappedOutput = {
    stdout: Buffer.alloc(0),
    stdoutBytes: 0,
    stderr: Buffer.alloc(0),
    stderrBytes: 0,
  };
  private readonly stdoutChunks: Buffer[] = [];
  private readonly stderrChunks: Buffer[] = [];
  private header = Buffer.alloc(0);
  private frameType = 0;
  private frameLeft = 0;
  private overflowed = false;
  private readonly options: DemuxOptions;
  private trailer: { stdout: TrailerScanner; stderr: TrailerScanner; seen: () => void } | undefined;

  constructor(stream: Readable, options: DemuxOptions) {
    this.options = options;
    stream.on('data', (chunk: Buffer) => this.push(chunk));
  }

  /**
   * Looks for the gate's trailer (see `trailer.ts`) on stdout and on stderr;
   * `seen` fires once both arrived. Each is taken out of its stream and
   * counts against no cap; what follows it is dropped.
   */
  expectTrailer(trailer: Buffer, seen: () => void): void {
    this.trailer = {
      stdout: new TrailerScanner(trailer),
      stderr: new TrailerScanner(trailer),
      seen,
    };
  }

  /** Whether stdout went past its cap. */
  get overflow(): boolean {
    return this.overflowed;
  }

  /** The kept bytes, joined (with any held back as a possible trailer start: the stream is over). */
  collect(): CappedOutput {
    this.trailer?.stdout.release((b) => this.stdoutPayload(b));
    this.trailer?.stderr.release((b) => this.stderrPayload(b));
    this.output.stdout = Buffer.concat(this.stdoutChunks);
    this.output.stderr = Buffer.concat(this.stderrChunks);
    return this.output;
  }

  private push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frameLeft === 0) {
        const need = 8 - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
        offset += Math.min(need, chunk.length - offset);
        if (this.header.length < 8) return;
        this.frameType = this.header[0] ?? 0;
        this.frameLeft = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.frameLeft, chunk.length - offset);
      this.payload(chunk.subarray(offset, offset + take));
      offset += take;
      this.frameLeft -= take;
    }
  }

  private payload(data: Buffer): void {
    const t = this.trailer;
    if (!t) {
      if (this.frameType === 2) this.stderrPayload(data);
      else this.stdoutPayload(data);
      return;
    }
    const scanner = this.frameType === 2 ? t.stderr : t.stdout;
    if (scanner.found) return;
    scanner.push(data, (b) =>
      this.frameType === 2 ? this.stderrPayload(b) : this.stdoutPayload(b),
    );
    if (scanner.found && t.stdout.found && t.stderr.found) t.seen();
  }

  private stderrPayload(data: Buffer): void {
    const room = this.options.maxStderrBytes - this.output.stderrBytes;
    if (room > 0) this.stderrChunks.push(Buffer.from(data.subarray(0, room)));
    this.output.stderrBytes += data.length;
  }

  private stdoutPayload(data: Buffer): void {
    // 1 is stdout; 0 (stdin echo) never comes with Tty off; treat anything else as stdout, the stricter cap.
    const room = this.options.maxStdoutBytes - this.output.stdoutBytes;
    if (room > 0) this.stdoutChunks.push(Buffer.from(data.subarray(0, room)));
    this.output.stdoutBytes += data.length;
    if (!this.overflowed && this.output.stdoutBytes > this.options.maxStdoutBytes) {
      this.overflowed = true;
      this.options.onStdoutOverflow();
    }
  }
}
