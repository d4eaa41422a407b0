// A separate writer process for test/audit/multi-writer.test.ts: argv = file, service, count, jwk file, maxBytes.
import { readFileSync } from 'node:fs';
import { signingKeyFromJwk } from '../../src/claims/keys.ts';
import { ChainedAuditSink } from '../../src/audit/chained-sink.ts';
import { FileDestination } from '../../src/audit/destination.ts';

const [file, service, count, jwkFile, maxBytes] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const key = await signingKeyFromJwk(JSON.parse(readFileSync(jwkFile, 'utf8')), jwkFile);
const sink = new ChainedAuditSink({
  destination: new FileDestination({
    file,
    rotate: { maxBytes: Number(maxBytes) },
    writer: `${service}-${process.pid}`,
  }),
  service,
  signingKey: key,
  checkpointEveryRecords: 25,
});
await sink.record({ kind: 'service_started', service });
const pending: Promise<void>[] = [];
for (let i = 0; i < Number(count); i++) {
  pending.push(
    sink.record({
      kind: 'call',
      requestId: `req_${service}_${i}`,
      toolId: 'text.word_count',
      durationMs: 1,
      outcome: 'allowed',
    }),
  );
  if (i % 10 === 0) await Promise.all(pending.splice(0));
}
await Promise.all(pending);
await sink.record({ kind: 'service_stopped', service });
await sink.close();
process.stdout.write(`${sink.chain}\n`);
