import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive, type Owner } from './owner.ts';

/**
 * Host folders a call leaves on the host while it runs: its `expose: file`
 * secrets (`<secretsRoot>/toolcage-secrets-<pid>-<start>-XXXXXX`, on a
 * tmpfs) and its egress socket (inside
 * `<tmp>/toolcage-egress-owner-<pid>-<start>/`). A call removes its own; a
 * runner killed by SIGKILL cannot, so the next runner's start-up sweeps
 * the folders whose owning process (pid and start time, as in container
 * labels) is gone (issue 16, item 10). Folders of live runners, and any
 * folder not named this way, are never touched.
 */

const SECRETS = /^toolcage-secrets-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;
const EGRESS = /^toolcage-egress-owner-(\d+)-(\d+)$/;

/** `<pid>-<start>`: what a folder's name says about the process that made it. */
export function ownerTag(owner: Pick<Owner, 'pid' | 'pidStart'>): string {
  return `${owner.pid}-${owner.pidStart}`;
}

/** The prefix for this runner's secrets folders (for `mkdtemp`). */
export function secretsPrefix(owner: Pick<Owner, 'pid' | 'pidStart'>): string {
  return `toolcage-secrets-${ownerTag(owner)}-`;
}

/**
 * This runner's parent folder for egress sockets under `tmp`: made 0700 on
 * first use, and checked to be a real folder (never a symlink someone
 * planted), so the proxies' own 0700 folders sit in one the runner owns.
 */
export function egressParent(tmp: string, owner: Pick<Owner, 'pid' | 'pidStart'>): string {
  const dir = join(tmp, `toolcage-egress-owner-${ownerTag(owner)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.())
    throw new Error(`${dir} is not a folder this runner owns`);
  return dir;
}

export interface SweepOptions {
  secretsRoot: string;
  tmp: string;
  self: Pick<Owner, 'pid' | 'pidStart'>;
  /** Whether the process `pid` that started at `start` still runs (injected by tests). */
  isAlive?: (pid: number, start: string) => boolean;
}

/** Removes the dead runners' folders; resolves to the paths removed. Never throws. */
export function sweepHostLeftovers(options: SweepOptions): string[] {
  const alive = options.isAlive ?? processAlive;
  const removed: string[] = [];
  const sweep = (root: string, pattern: RegExp): void => {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      return;
    }
    for (const name of names) {
      const m = pattern.exec(name);
      if (!m) continue;
      const [pid, start] = [Number(m[1]), m[2] ?? ''];
      if (pid === options.self.pid && start === options.self.pidStart) continue;
      if (alive(pid, start)) continue;
      try {
        rmSync(join(root, name), { recursive: true, force: true });
        removed.push(join(root, name));
      } catch {
        // left for the next start-up; never fatal
      }
    }
  };
  sweep(options.secretsRoot, SECRETS);
  sweep(options.tmp, EGRESS);
  return removed;
}
