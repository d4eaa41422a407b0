/**
 * Keeps what the system writes during a test run for the suite's canary
 * scan (test/helpers/suite-setup.ts): every test's temporary folders live
 * under one suite root (TMPDIR points there), audit trails survive their
 * workspace's cleanup, and services' output and in-memory audit sinks are
 * copied to `<root>/captured/`. Outside a suite run (no root) these are
 * plain: cleanup deletes, nothing is captured.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { Stream } from 'node:stream';
import { MemoryAuditSink, kindOf, type AuditEntry } from '../../src/audit/audit.ts';
import { CAPTURED_DIR, filesUnder, isAuditTrail } from './canary-scan.ts';

/** Set by the suite's global setup for every worker and every process the tests spawn. */
export const SUITE_ROOT_ENV = 'TOOLCAGE_TEST_SUITE_ROOT';

export function suiteRoot(): string | undefined {
  return process.env[SUITE_ROOT_ENV] || undefined;
}

function capturedDir(root: string): string {
  const dir = join(root, CAPTURED_DIR);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Copies a spawned service's output to the suite root (besides whatever the
 * test reads from it). Name only the streams the system writes logs to:
 * stdio MCP's stdout is the protocol stream (tool results), so `['stderr']` there.
 */
export function captureOutput(
  child: ChildProcess,
  name: string,
  streams: ReadonlyArray<'stdout' | 'stderr'> = ['stdout', 'stderr'],
): void {
  for (const s of streams) {
    const source = child[s];
    if (source) captureStream(source, `${name}-${child.pid ?? 'x'}-${s}`);
  }
}

/** Copies one output stream (a transport's stderr, say) to `<root>/captured/<name>.log`. */
export function captureStream(source: Stream, name: string): void {
  const root = suiteRoot();
  if (!root) return;
  source.pipe(createWriteStream(join(capturedDir(root), `${name}.log`)));
}

/**
 * Removes a test's temporary folder, keeping its audit trails (files whose
 * first line is an audit record, rotations included) under the suite root.
 */
export function retire(dir: string): void {
  const root = suiteRoot();
  if (root && existsSync(dir)) {
    const keep = join(root, 'kept', `${basename(dir)}-${randomUUID().slice(0, 8)}`);
    for (const file of filesUnder(dir)) {
      if (!isAuditTrail(file)) continue;
      const to = join(keep, relative(dir, file));
      mkdirSync(dirname(to), { recursive: true });
      try {
        renameSync(file, to);
      } catch {
        copyFileSync(file, to);
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

let memoryFd: number | undefined;

/**
 * An in-memory sink (for assertions) that also appends each entry, as the
 * JSON a trail would hold, to `<root>/captured/memory-audit-<pid>.jsonl`, so
 * that records which never reach a file are scanned too.
 */
export class SuiteAuditSink extends MemoryAuditSink {
  override write(event: AuditEntry): void {
    super.write(event);
    const root = suiteRoot();
    if (!root) return;
    memoryFd ??= openSync(join(capturedDir(root), `memory-audit-${process.pid}.jsonl`), 'a');
    writeSync(memoryFd, `${JSON.stringify({ ...event, kind: kindOf(event) })}\n`);
  }
}

let logFd: number | undefined;

/** Appends a service log line a test keeps in memory to `<root>/captured/memory-log-<pid>.log`. */
export function captureLogLine(line: string): void {
  const root = suiteRoot();
  if (!root) return;
  logFd ??= openSync(join(capturedDir(root), `memory-log-${process.pid}.log`), 'a');
  writeSync(logFd, line.endsWith('\n') ? line : `${line}\n`);
}
