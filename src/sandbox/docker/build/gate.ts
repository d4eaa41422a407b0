import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RECIPES_DIR, isStaticElf } from './recipe.ts';
import { ToolcageError } from '../../../errors/toolcage-error.ts';

/**
 * The pool gate: a tiny static binary (sandboxes/docker/gate/gate.c) that
 * is every pooled container's entrypoint and pid 1, bound in read-only. It
 * blocks until the call's nonce and input reach stdin, then runs the tool,
 * so a pooled container runs no tool code before its call (issue 16, item
 * 11), and reports a success itself (see `trailer.ts`).
 */

/** Where the gate appears inside a pooled container. */
export const CONTAINER_GATE_PATH = '/run/toolcage/gate';

const SOURCE = join(RECIPES_DIR, 'gate', 'gate.c');

/**
 * The default host path of the built gate (gitignored, built by `toolcage images build`, or on
 * the first pool when missing). The suffix is the gate's stdin protocol: a gate built from an
 * older source (no nonce) is never picked up by a runner that sends one.
 */
export const DEFAULT_GATE_PATH = join(RECIPES_DIR, 'gate', 'build', 'toolcage-gate-2');

/** A gate ready to bind: its host path and the sha256 of the bytes checked when it was loaded. */
export interface Gate {
  path: string;
  sha256: string;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Builds the gate with `gcc -static -O2 -s` (same source, same compiler:
 * same bytes) and writes it to `path` atomically, mode 0555. Throws with
 * what is missing when gcc or the static C library is.
 */
export function buildGate(path: string = DEFAULT_GATE_PATH): Gate {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const out = mkdtempSync(join(dirname(path), '.gate-'));
  try {
    try {
      execFileSync('gcc', ['-static', '-O2', '-s', '-o', join(out, 'gate'), 'gate.c'], {
        cwd: dirname(SOURCE),
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 120_000,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      const detail = e.code === 'ENOENT' ? 'gcc is not installed' : (e.stderr?.toString() ?? '');
      throw new ToolcageError('sandbox_unavailable', {
        message: `Could not build the pool gate (${detail.trim().split('\n').slice(-2).join(' | ')}). Install gcc and libc6-dev.`,
        hint: 'build_images',
        cause: err,
      });
    }
    const data = readFileSync(join(out, 'gate'));
    if (!isStaticElf(data)) throw new Error('gcc built the pool gate as a dynamic binary');
    chmodSync(join(out, 'gate'), 0o555);
    renameSync(join(out, 'gate'), path);
    return { path, sha256: sha256(data) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The gate at `path`, checked to be a static ELF; built first when it is
 * missing and `build` allows it. Throws with an actionable message otherwise.
 */
export function loadGate(path: string = DEFAULT_GATE_PATH, build = true): Gate {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && build) return buildGate(path);
    throw new ToolcageError('sandbox_unavailable', {
      message: `The pool gate ${path} cannot be read.`,
      hint: 'build_images',
      cause: err,
    });
  }
  if (!isStaticElf(data))
    throw new Error(`The pool gate ${path} is not a static binary; rebuild it.`);
  return { path, sha256: sha256(data) };
}
