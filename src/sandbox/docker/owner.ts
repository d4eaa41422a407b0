import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Labels on every toolcage container. `managed` marks it ours; the `runner.*` ones say who owns it. */
export const LABEL = {
  managed: 'toolcage.managed',
  runner: 'toolcage.runner',
  pid: 'toolcage.runner.pid',
  pidStart: 'toolcage.runner.pid-start',
  boot: 'toolcage.runner.boot',
  host: 'toolcage.runner.host',
  invocation: 'toolcage.invocation',
  tool: 'toolcage.tool',
} as const;

/** Who runs this process: enough to tell later, from the labels alone, whether it is still alive. */
export interface Owner {
  runnerId: string;
  pid: number;
  /** The process start time in clock ticks since boot (/proc/PID/stat field 22): a reused pid has another. */
  pidStart: string;
  bootId: string;
  host: string;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** The start time of a process, or undefined when it does not exist. */
export function processStart(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`, '');
  if (stat === '') return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19];
}

export function currentOwner(runnerId: string): Owner {
  return {
    runnerId,
    pid: process.pid,
    pidStart: processStart(process.pid) ?? 'unknown',
    bootId: readOr('/proc/sys/kernel/random/boot_id', 'unknown'),
    host: hostname(),
  };
}

export function ownerLabels(owner: Owner): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.runner]: owner.runnerId,
    [LABEL.pid]: String(owner.pid),
    [LABEL.pidStart]: owner.pidStart,
    [LABEL.boot]: owner.bootId,
    [LABEL.host]: owner.host,
  };
}

/**
 * Whether a container labelled by some runner is orphaned, judged from
 * here: its runner is not us, ran on this host, and is no longer the live
 * process it was (different boot, pid gone, or pid reused by a process that
 * started at another time). A container from another host is never judged
 * orphaned: its runner's liveness cannot be seen from here.
 */
export function isOrphan(
  labels: Record<string, string>,
  self: Owner,
  isAlive: (pid: number, start: string) => boolean = processAlive,
): boolean {
  if (labels[LABEL.managed] !== 'true') return false;
  if (labels[LABEL.runner] === self.runnerId) return false;
  if (labels[LABEL.host] !== self.host) return false;
  if (labels[LABEL.boot] !== self.bootId) return true;
  const pid = Number(labels[LABEL.pid]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  return !isAlive(pid, labels[LABEL.pidStart] ?? '');
}

/** Whether `pid` is the process that started at `start` (clock ticks since boot). */
export function processAlive(pid: number, start: string): boolean {
  const now = processStart(pid);
  return now !== undefined && now === start;
}
