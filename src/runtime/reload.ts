import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE_NAME } from '../registry/lock.ts';
import type { ToolSource } from '../ports/tool.ts';
import { recordDecision, type AuditSink } from '../audit/audit.ts';

/**
 * Wraps a registry swap so that every reload, whether it took or not, is a
 * `registry_reloaded` record on the trail: `ok` with the tools now served,
 * or `refused` with the error code and its message (lock and manifest facts:
 * ids, hashes, file names; never an argument value or a credential). The
 * record never blocks the reload: a trail that cannot write still reloads
 * (the trail's own failure refuses the next decision instead).
 */
export function auditedSwap(options: {
  audit: AuditSink;
  swap(): Promise<boolean>;
  current(): ToolSource | undefined;
}): () => Promise<boolean> {
  return async () => {
    let changed: boolean;
    try {
      changed = await options.swap();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      await recordDecision(options.audit, {
        kind: 'registry_reloaded',
        origin: 'service',
        outcome: 'refused',
        errorCode: typeof code === 'string' ? code : 'registry_invalid',
        reason: String((err as Error).message).slice(0, 300),
      }).catch(() => {});
      throw err;
    }
    await recordDecision(options.audit, {
      kind: 'registry_reloaded',
      origin: 'service',
      outcome: 'ok',
      tools: (options.current()?.list() ?? []).map((t) => `${t.manifest.id}@${t.manifest.version}`),
    }).catch(() => {});
    return changed;
  };
}

export interface RegistryReloaderOptions {
  /** The manifests folder, which holds the signed lock. */
  dir: string;
  /** Re-reads and re-verifies the registry and swaps it in atomically; true when the tools changed. Throws when it does not verify. */
  swap(): Promise<boolean>;
  /** The registry being served (undefined while none is loaded). */
  current(): ToolSource | undefined;
  /** Where reload outcomes are reported (a person reads them). */
  log(line: string): void;
}

/**
 * The registry reload policy, one for `toolcage serve` and `toolcage mcp`:
 * on a lock change (watched) or on request (SIGHUP), re-read and re-verify
 * the registry and swap it atomically. When the new lock does not verify the
 * verified registry stays, but every tool whose pin differs in the lock on
 * disk is withheld (neither listed nor run) until a lock that verifies is
 * loaded: a tool whose pinned hash changed is never served from its stale
 * definition. Concurrent reloads coalesce; listeners hear of each change.
 */
export class RegistryReloader {
  readonly #o: RegistryReloaderOptions;
  readonly #listeners = new Set<() => void | Promise<void>>();
  #withheld: ReadonlySet<string> = new Set();
  #reloading: Promise<boolean> | undefined;
  #again = false;
  #watcher: FSWatcher | undefined;

  constructor(options: RegistryReloaderOptions) {
    this.#o = options;
  }

  /** Tools withheld because their pins changed and the new lock did not verify. */
  withheld(): ReadonlySet<string> {
    return this.#withheld;
  }

  /** Called after every reload that changed what is served (tools or withheld set). */
  onChange(listener: () => void | Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reloads now; resolves to whether what is served changed. Never rejects for a lock that does not verify. */
  reload(): Promise<boolean> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      let changed = false;
      do {
        this.#again = false;
        changed = (await this.#reloadOnce()) || changed;
      } while (this.#again);
      return changed;
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reloadOnce(): Promise<boolean> {
    const before = [...this.#withheld].sort().join(',');
    let swapped = false;
    try {
      swapped = await this.#o.swap();
      this.#withheld = new Set();
      const count = this.#o.current()?.list().length ?? 0;
      this.#o.log(
        `registry reloaded: ${count} tool${count === 1 ? '' : 's'} verified${swapped ? ' (tools changed)' : ' (no change)'}`,
      );
    } catch (err) {
      this.#withheld = this.#stalePins();
      this.#o.log(
        `registry reload failed, keeping the verified registry${this.#withheld.size ? ` and withholding ${[...this.#withheld].join(', ')}` : ''}: ${(err as Error).message}`,
      );
    }
    const changed = swapped || [...this.#withheld].sort().join(',') !== before;
    if (changed)
      await Promise.all(
        [...this.#listeners].map(async (l) => {
          try {
            await l();
          } catch (err) {
            this.#o.log(`registry change listener failed: ${(err as Error).message}`);
          }
        }),
      );
    return changed;
  }

  /** Tools whose pins in the lock on disk differ from the verified registry (read only to restrict, never to load). */
  #stalePins(): Set<string> {
    const registry = this.#o.current();
    if (!registry) return new Set();
    const all = new Set(registry.list().map((t) => t.manifest.id));
    let lock: {
      tools?: Array<{ id?: unknown; manifestSha256?: unknown; artifactSha256?: unknown }>;
    };
    try {
      lock = JSON.parse(readFileSync(join(this.#o.dir, LOCK_FILE_NAME), 'utf8')) as typeof lock;
    } catch {
      return all;
    }
    if (!Array.isArray(lock?.tools)) return all;
    const stale = new Set<string>();
    for (const t of registry.list()) {
      const pin = lock.tools.find((e) => e?.id === t.manifest.id);
      if (
        !pin ||
        pin.manifestSha256 !== t.manifestSha256 ||
        pin.artifactSha256 !== t.artifactSha256
      )
        stale.add(t.manifest.id);
    }
    return stale;
  }

  /** Reloads when the lock file changes (debounced: a lock is written in more than one event). */
  watch(debounceMs = 150): void {
    if (this.#watcher) return;
    const dir = this.#o.dir;
    let timer: NodeJS.Timeout | undefined;
    this.#watcher = watch(dir, { persistent: false }, (_event, file) => {
      if (file !== null && file !== LOCK_FILE_NAME) return;
      clearTimeout(timer);
      timer = setTimeout(() => void this.reload(), debounceMs);
    });
    this.#watcher.on('error', (err) => this.#o.log(`cannot watch ${dir}: ${err.message}`));
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
