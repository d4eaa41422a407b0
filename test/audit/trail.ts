// Builds a real trail on disk: the chained sink, a file destination and a fresh audit key.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { generateSigningKey, signingKeyFromJwk, type SigningKey } from '../../src/claims/keys.ts';
import { ChainedAuditSink } from '../../src/audit/chained-sink.ts';
import { FileDestination } from '../../src/audit/destination.ts';
import type { AuditEntry } from '../../src/audit/events.ts';
import { retire } from '../helpers/suite-output.ts';

export interface TestKey {
  key: SigningKey;
  jwks: JSONWebKeySet;
}

export async function auditKey(): Promise<TestKey> {
  const { privateJwk, publicJwk } = await generateSigningKey('EdDSA');
  return { key: await signingKeyFromJwk(privateJwk, 'test'), jwks: { keys: [publicJwk] } };
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-audit-'));
  return { dir, cleanup: () => retire(dir) };
}

export function call(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    kind: 'call',
    requestId: `req_${i}`,
    toolId: 'text.word_count',
    durationMs: i,
    outcome: 'allowed',
    ...extra,
  } as AuditEntry;
}

export function openSink(
  file: string,
  key: SigningKey | undefined,
  options: { everyRecords?: number; maxBytes?: number; service?: string } = {},
): ChainedAuditSink {
  return new ChainedAuditSink({
    destination: new FileDestination({
      file,
      rotate: { maxBytes: options.maxBytes ?? 1024 * 1024 },
      writer: options.service ?? 'test',
    }),
    service: options.service ?? 'test',
    signingKey: key,
    checkpointEveryRecords: options.everyRecords ?? 4,
  });
}

/** `n` calls, checkpoints every 4 records, sealed by a final checkpoint. */
export async function writeTrail(file: string, key: SigningKey, n = 10): Promise<string> {
  const sink = openSink(file, key);
  for (let i = 1; i <= n; i++) await sink.record(call(i));
  await sink.close();
  return sink.chain;
}
