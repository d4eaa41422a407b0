/**
 * The audit trail's cost on a call: the library call with today's plain
 * pino file sink against the same call with the chained, checkpointed sink
 * (RFC 8785 + sha256 chain, signed checkpoints every 1000 records, fdatasync
 * at each checkpoint, the call waits for its record to be written), measured
 * in interleaved rounds in the same run. Target: chained p50 <= 1.05x plain.
 *
 *   BENCH_ONLY=audit npm run bench
 */
import { PinoAuditSink } from '../src/audit/audit.ts';
import { openAuditSink } from '../src/runtime/audit.ts';
import { benchRunner } from './library.ts';
import { measureInterleaved, type Figures } from './stats.ts';

export interface AuditFigures {
  plain: Figures;
  chained: Figures;
}

export async function benchAudit(opts: { n?: number } = {}): Promise<AuditFigures> {
  const n = opts.n ?? 3000;
  const total = n + 200;
  const plain = await benchRunner(total, {}, async (loaded) =>
    PinoAuditSink.toFile(loaded.path('.toolcage/plain-audit.log')),
  );
  const chained = await benchRunner(total, {}, (loaded) =>
    openAuditSink(loaded, { service: 'bench' }),
  );
  try {
    const r = await measureInterleaved(
      {
        'library execute(), plain pino audit sink': plain.call,
        'library execute(), chained checkpointed audit sink': chained.call,
      },
      { n, warmup: 100 },
    );
    return {
      plain: r['library execute(), plain pino audit sink']!,
      chained: r['library execute(), chained checkpointed audit sink']!,
    };
  } finally {
    await plain.close();
    await chained.close();
  }
}
