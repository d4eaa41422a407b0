// The audit sinks: pino writes one JSON line per event with an ISO time; redact is a second line of
// defence for names a careless future field might carry; the memory sink keeps copies.
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { MemoryAuditSink, PinoAuditSink, type AuditEvent } from '../../src/audit/audit.ts';

const event: AuditEvent = {
  requestId: 'req_1',
  toolId: 'text.word_count',
  durationMs: 3,
  outcome: 'allowed',
  scope: ['text:read'],
};

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n') };
}

it('PinoAuditSink writes exactly one JSON line per event with an ISO time, level and the event fields', async () => {
  const { stream, lines } = capture();
  const sink = new PinoAuditSink(stream as never);
  sink.write(event);
  sink.write({ ...event, requestId: 'req_2', outcome: 'refused', errorCode: 'claim_expired' });
  await sink.flush();
  const parsed = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(parsed).toHaveLength(2);
  expect(parsed[0]).toMatchObject({
    level: 'info',
    audit: 'decision',
    requestId: 'req_1',
    toolId: 'text.word_count',
    outcome: 'allowed',
    scope: ['text:read'],
  });
  expect(parsed[1]).toMatchObject({
    requestId: 'req_2',
    outcome: 'refused',
    errorCode: 'claim_expired',
  });
  expect(new Date(parsed[0]!.time as string).toISOString()).toBe(parsed[0]!.time);
  expect(parsed[0]).not.toHaveProperty('pid');
  expect(parsed[0]).not.toHaveProperty('hostname');
});

it('redacts claim, token, args and credential-looking fields if a future event ever carries them', async () => {
  const { stream, lines } = capture();
  const sink = new PinoAuditSink(stream as never);
  sink.write({
    ...event,
    claim: 'eyJ.secret.sig',
    token: 'tok-secret',
    args: { text: 'arg-secret' },
    credentials: [{ value: 'cred-secret' }],
    authorization: 'Bearer x-secret',
  } as AuditEvent);
  await sink.flush();
  const line = lines()[0]!;
  for (const secret of ['eyJ.secret.sig', 'tok-secret', 'arg-secret', 'cred-secret', 'x-secret'])
    expect(line).not.toContain(secret);
  expect(JSON.parse(line)).toMatchObject({
    claim: '[redacted]',
    token: '[redacted]',
    args: '[redacted]',
  });
});

it('MemoryAuditSink keeps a copy, so later mutation of the event cannot rewrite the record', () => {
  const sink = new MemoryAuditSink();
  const e: AuditEvent = { ...event, scope: ['a'] };
  sink.write(e);
  e.scope!.push('b');
  expect(sink.events[0]!.scope).toEqual(['a']);
});
