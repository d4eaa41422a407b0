import pino, { type Logger, type DestinationStream } from 'pino';

/**
 * One audit line per decision, allowed or refused (CONTRACT.md, "Audit").
 * The event is built field by field from verified facts; the raw claim, the
 * argument values and credential values are never part of it, so there is
 * nothing to redact. pino's `redact` is kept as a second line of defence for
 * the names a careless future field might carry.
 */
export interface AuditEvent {
  requestId: string;
  invocationId?: string | undefined;
  jti?: string | undefined;
  approvalId?: string | undefined;
  subject?: string | undefined;
  tenant?: string | undefined;
  toolId: string;
  toolVersion?: string | undefined;
  manifestSha256?: string | undefined;
  argsHash?: string | undefined;
  scope?: string[] | undefined;
  credentialLanes?: string[] | undefined;
  backend?: string | undefined;
  limits?: Record<string, number | undefined> | undefined;
  durationMs: number;
  outcome: 'allowed' | 'refused' | 'failed';
  /** The pipeline stage that decided: where a refusal happened ('run' and later mean the tool ran). */
  stage?: string | undefined;
  errorCode?: string | undefined;
  /** Docker: the OCI runtime the call ran on (`runsc` = gVisor, `runc` = host kernel). */
  sandboxRuntime?: string | undefined;
  /** Sanitised diagnostics (e.g. a capped stderr excerpt); never returned to the agent. */
  diagnostic?: string | undefined;
}

export interface AuditSink {
  write(event: AuditEvent): void;
  flush(): Promise<void>;
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
