import pino, { type Logger, type DestinationStream } from 'pino';

import type { AuditEvent, AuditSink } from '../ports/audit.ts';

export type { AuditEvent, AuditSink };

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

/** Writes audit lines with pino to a stream (stdout, a file). */
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

  write(event: AuditEvent): void {
    this.#log.info({ audit: 'decision', ...event });
  }

  async flush(): Promise<void> {
    await new Promise<void>((resolve) => this.#log.flush(() => resolve()));
  }
}

/** Keeps events in memory: for tests that assert what was (and was not) audited. */
export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  write(event: AuditEvent): void {
    this.events.push(structuredClone(event));
  }
  async flush(): Promise<void> {}
}

/** Discards everything (benchmarks of the pipeline without I/O). */
export class NullAuditSink implements AuditSink {
  write(): void {}
  async flush(): Promise<void> {}
}
