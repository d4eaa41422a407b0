import type { AuditPage, AuditSearchClient } from '../console/audit-client.ts';
import { queryAudit } from '../audit/query.ts';
import { existsSync, readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import type { LoadedConfig } from '../config/load.ts';
import { loadSigningKey, type SigningKey } from '../claims/keys.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { AuditSink } from '../audit/audit.ts';
import { ChainedAuditSink } from '../audit/chained-sink.ts';
import { FdDestination, FileDestination, type AuditDestination } from '../audit/destination.ts';
import { auditFilesOf } from '../audit/files.ts';

/** The audit signing key when the workspace has one; a missing file means unsigned checkpoints. */
export async function auditSigningKey(loaded: LoadedConfig): Promise<SigningKey | undefined> {
  const file = loaded.path(loaded.config.audit.signingKey);
  if (!existsSync(file)) return undefined;
  return loadSigningKey(file);
}

export function auditPublicKeys(loaded: LoadedConfig): JSONWebKeySet | undefined {
  const file = loaded.path(loaded.config.audit.publicKeys);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet;
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `Cannot read the audit public keys ${file}: ${(cause as Error).message}.`,
      cause,
    });
  }
}

/** The audit files of this workspace, oldest first (rotations, then the live file). */
export function configuredAuditFiles(loaded: LoadedConfig): string[] {
  return loaded.config.audit.destination === 'file'
    ? auditFilesOf(loaded.path(loaded.config.audit.file))
    : [];
}

/**
 * The configured, chained sink for one writer (`service` names its chain:
 * `runner`, `broker`, `mcp`, `cli.<command>`). Services and CLI commands
 * share the file; each process instance is its own chain.
 */
export async function openAuditSink(
  loaded: LoadedConfig,
  options: { service: string; stdoutTo?: 'stderr' },
): Promise<ChainedAuditSink> {
  const a = loaded.config.audit;
  const chainWriter = `${options.service}-${process.pid}`;
  let destination: AuditDestination;
  if (a.destination === 'file') {
    destination = new FileDestination({
      file: loaded.path(a.file),
      rotate: { maxBytes: a.rotate.maxBytes, everySeconds: a.rotate.everySeconds },
      writer: chainWriter,
    });
  } else {
    destination = new FdDestination(
      a.destination === 'stderr' || options.stdoutTo === 'stderr' ? 2 : 1,
    );
  }
  return new ChainedAuditSink({
    destination,
    service: options.service,
    signingKey: await auditSigningKey(loaded),
    checkpointEveryRecords: a.checkpoint.everyRecords,
    checkpointEverySeconds: a.checkpoint.everySeconds,
    fsync: a.fsync,
  });
}

/** Runs a CLI action with its own chain, sealed (final checkpoint) when the action ends. */
export async function withCliAudit<T>(
  loaded: LoadedConfig,
  command: string,
  fn: (audit: AuditSink) => Promise<T>,
): Promise<T> {
  const audit = await openAuditSink(loaded, { service: `cli.${command}` });
  try {
    return await fn(audit);
  } finally {
    await audit.close();
  }
}

/**
 * The console's Decisions page over this node's trail (the same search as
 * `GET /v1/audit`). The console asks with its own filters; times arrive as
 * ISO 8601 text.
 */
export function trailSearch(loaded: LoadedConfig, pageSize = 50): AuditSearchClient {
  return {
    async search(q) {
      const page = await queryAudit(configuredAuditFiles(loaded), {
        ...(q.tool ? { tool: q.tool } : {}),
        ...(q.subject ? { subject: q.subject } : {}),
        ...(q.tenant ? { tenant: q.tenant } : {}),
        ...(q.outcome ? { outcome: q.outcome } : {}),
        ...(q.errorCode ? { errorCode: q.errorCode } : {}),
        ...(q.requestId ? { requestId: q.requestId } : {}),
        ...(q.invocationId ? { invocationId: q.invocationId } : {}),
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.until ? { until: new Date(q.until) } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
        limit: pageSize,
      });
      return {
        records: page.records as unknown as AuditPage['records'],
        nextCursor: page.nextCursor,
      };
    },
  };
}
