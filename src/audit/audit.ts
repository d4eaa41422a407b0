import pino, { type Logger, type DestinationStream } from 'pino';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { kindOf, levelOf, type AuditEntry } from './events.ts';

export * from './events.ts';

import type { AuditEvent, AuditHealth, AuditSink } from '../ports/audit.ts';

export type { AuditEvent, AuditHealth, AuditSink };

/** Records a decision, failing closed: resolves once accepted, throws `audit_unavailable` otherwise. */
export async function recordDecision(sink: AuditSink, event: AuditEntry): Promise<void> {
  if (sink.record) return sink.record(event);
  try {
    sink.write(event);
  } catch (cause) {
    throw auditUnavailable(cause);
  }
}

export function auditUnavailable(cause?: unknown): ToolcageError {
  const why =
    (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message;
  return new ToolcageError('audit_unavailable', {
    message: `The audit trail cannot record this decision${why ? ` (${String(why).slice(0, 80)})` : ''}, so it was refused. Free space or fix permissions on the audit destination (config audit.file); calls resume as soon as a record can be written.`,
    ...(cause !== undefined ? { cause } : {}),
  });
}

const REDACT = [
  'claim',
  'token',
  'authorization',
  'args',
  'input',
  'output',
  'credentials',
  '*.value',
  '*.secret',
  '*.password',
];

/** Writes plain (unchained) audit lines with pino to a stream (stdout, a file). */
export class PinoAuditSink implements AuditSink {
  readonly #log: Logger;

  constructor(destination: DestinationStream) {
    this.#log = pino(
      {
        base: null,
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        redact: { paths: REDACT, censor: '[redacted]' },
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    );
  }

  static toFile(path: string): PinoAuditSink {
    return new PinoAuditSink(pino.destination({ dest: path, mkdir: true, sync: false }));
  }

  static toStdout(): PinoAuditSink {
    return new PinoAuditSink(pino.destination({ dest: 1, sync: false }));
  }

  static toStderr(): PinoAuditSink {
    return new PinoAuditSink(pino.destination({ dest: 2, sync: true }));
  }

  write(event: AuditEntry): void {
    this.#log[levelOf(event)]({ audit: 'decision', ...event, kind: kindOf(event) });
  }

  async flush(): Promise<void> {
    await new Promise<void>((resolve) => this.#log.flush(() => resolve()));
  }
}

/** Keeps events in memory: for tests that assert what was (and was not) audited. */
export class MemoryAuditSink implements AuditSink {
  /** Runner calls only (the original port's events). */
  readonly events: AuditEvent[] = [];
  /** Every entry, of every kind, in order. */
  readonly entries: AuditEntry[] = [];
  write(event: AuditEntry): void {
    const copy = structuredClone(event);
    this.entries.push(copy);
    if (kindOf(copy) === 'call') this.events.push(copy as AuditEvent);
  }
  async flush(): Promise<void> {}
}

/** Discards everything (benchmarks of the pipeline without I/O). */
export class NullAuditSink implements AuditSink {
  write(): void {}
  async flush(): Promise<void> {}
}
