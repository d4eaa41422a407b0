import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Demuxer } from '../../../src/sandbox/docker/demux.ts';
import { newNonce, trailerFor, TrailerScanner } from '../../../src/sandbox/docker/trailer.ts';

function frame(kind: 1 | 2, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function scan(pattern: Buffer, chunks: Buffer[]): { out: Buffer; found: boolean } {
  const s = new TrailerScanner(pattern);
  const got: Buffer[] = [];
  for (const c of chunks) s.push(c, (b) => got.push(Buffer.from(b)));
  s.release((b) => got.push(b));
  return { out: Buffer.concat(got), found: s.found };
}

describe('gate trailer scanner', () => {
  const nonce = newNonce();
  const trailer = trailerFor(nonce);

  it('is the gate\'s format: NUL, "toolcage-exit0:", 64 hex digits, newline', () => {
    expect(nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(trailer.toString('latin1')).toBe(`\0toolcage-exit0:${nonce}\n`);
  });

  it('finds the trailer split at every byte boundary, keeping exactly the bytes before it', () => {
    const before = Buffer.from('{"a":"\\u0000"}\0toolcage-exit\0x\0');
    const whole = Buffer.concat([before, trailer, Buffer.from('after')]);
    for (let cut = 0; cut <= whole.length; cut++) {
      const r = scan(trailer, [whole.subarray(0, cut), whole.subarray(cut)]);
      expect(r.found).toBe(true);
      expect(r.out.equals(before)).toBe(true);
    }
  });

  it("treats another nonce's trailer, a truncated one and lone NULs as the tool's own bytes", () => {
    const other = trailerFor(newNonce());
    const forged = Buffer.concat([
      other,
      trailer.subarray(0, trailer.length - 1),
      Buffer.from('\0\0x'),
    ]);
    const r = scan(trailer, [forged]);
    expect(r.found).toBe(false);
    expect(r.out.equals(forged)).toBe(true);
  });

  it('holds back only what may start the trailer, so the output cap counts every other byte at once', () => {
    const stream = new PassThrough();
    let overflowed = 0;
    const demux = new Demuxer(stream, {
      maxStdoutBytes: 4,
      maxStderrBytes: 64,
      onStdoutOverflow: () => overflowed++,
    });
    let seen = 0;
    demux.expectTrailer(trailer, () => seen++);
    stream.write(frame(1, Buffer.from('abcd')));
    expect(overflowed).toBe(0);
    stream.write(frame(1, Buffer.from('\0toolcage')));
    expect(overflowed).toBe(0); // held: may be the trailer
    stream.write(frame(1, Buffer.from('X')));
    expect(overflowed).toBe(1); // it was not: the tool's bytes, past the cap
    expect(demux.collect().stdoutBytes).toBe(14);
    expect(seen).toBe(0);
  });

  it('fires once both streams carried the trailer; the trailer counts against no cap and nothing after it is kept', () => {
    const stream = new PassThrough();
    const demux = new Demuxer(stream, {
      maxStdoutBytes: 7,
      maxStderrBytes: 3,
      onStdoutOverflow: () => expect.fail('no overflow'),
    });
    let seen = 0;
    demux.expectTrailer(trailer, () => seen++);
    stream.write(frame(1, Buffer.concat([Buffer.from('{"a":1}'), trailer, Buffer.from('late')])));
    expect(seen).toBe(0);
    stream.write(frame(2, Buffer.concat([Buffer.from('err'), trailer.subarray(0, 10)])));
    stream.write(frame(2, Buffer.concat([trailer.subarray(10), Buffer.from('late')])));
    expect(seen).toBe(1);
    const out = demux.collect();
    expect(out.stdout.toString()).toBe('{"a":1}');
    expect(out.stderr.toString()).toBe('err');
    expect([out.stdoutBytes, out.stderrBytes]).toEqual([7, 3]);
  });
});
