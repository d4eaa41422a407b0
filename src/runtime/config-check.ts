import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { recordDecision, type AuditSink } from '../audit/audit.ts';
import type { ConfigReloadedEvent } from '../ports/audit.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { Policy } from '../broker/policy.ts';

/** The files a service reads once, at start, by role: `config`, `policy`, `cedar`. */
export type StartFiles = Record<string, string>;

/**
 * The start-time files of a service: the config file, and for a service that
 * mints (broker serve, mcp) the broker policy and the Cedar file it names.
 */
export function startFiles(
  configFile: string,
  loaded?: LoadedConfig,
  policy?: Pick<Policy, 'conditions'>,
): StartFiles {
  const files: StartFiles = { config: resolve(configFile) };
  if (loaded) {
    files.policy = loaded.path(loaded.config.broker.policy);
    const cedar = policy?.conditions?.cedarFile;
    if (cedar) files.cedar = resolve(dirname(files.policy), cedar);
  }
  return files;
}

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * A reload signal (SIGHUP) reloads the registry only: the config file and the
 * policy files are read once, at start, and a change to them takes effect on
 * a restart. So that the trail never suggests otherwise, each signal records
 * `config_reloaded` saying what holds: `ok` when the files on disk are the
 * ones in effect, `refused` with `reason: restart_required` and `changed`
 * (the roles of the files that differ) when one was edited since start, and
 * `failed` (`config_invalid`) when one cannot be read. Digests only; no file
 * content reaches the record.
 *
 * Returns the check to run on each signal; the start digests are taken now.
 */
export function configCheck(options: {
  audit: AuditSink;
  files: StartFiles;
}): () => Promise<ConfigReloadedEvent> {
  const roles = Object.keys(options.files);
  const atStart = new Map<string, string | undefined>(
    roles.map((role) => {
      try {
        return [role, digest(options.files[role]!)];
      } catch {
        return [role, undefined];
      }
    }),
  );
  return async () => {
    const changed: string[] = [];
    const unreadable: string[] = [];
    for (const role of roles) {
      let now: string;
      try {
        now = digest(options.files[role]!);
      } catch {
        unreadable.push(role);
        continue;
      }
      if (now !== atStart.get(role)) changed.push(role);
    }
    const event: ConfigReloadedEvent = unreadable.length
      ? {
          kind: 'config_reloaded',
          origin: 'service',
          outcome: 'failed',
          files: roles,
          errorCode: 'config_invalid',
          reason: `cannot read: ${unreadable.join(', ')}`,
        }
      : changed.length
        ? {
            kind: 'config_reloaded',
            origin: 'service',
            outcome: 'refused',
            files: roles,
            changed,
            reason: 'restart_required',
          }
        : { kind: 'config_reloaded', origin: 'service', outcome: 'ok', files: roles };
    await recordDecision(options.audit, event).catch(() => {});
    return event;
  };
}
