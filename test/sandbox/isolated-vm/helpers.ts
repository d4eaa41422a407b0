import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type {
  RunLimits,
  RunRequest,
  RunResult,
  SandboxBackend,
} from '../../../src/ports/sandbox.ts';
import {
  createIsolatedVmBackend,
  type IsolatedVmBackendOptions,
} from '../../../src/sandbox/isolated-vm/index.ts';

export const BENIGN = `export default function run(input) { return { echoed: input.n, leaked: typeof globalThis.__leak, proto: ({}).polluted ?? null }; }`;

let seq = 0;

export function request(
  source: string,
  limits: Partial<RunLimits> = {},
  input: unknown = { n: 1 },
  extra: Partial<RunRequest> = {},
): RunRequest {
  seq++;
  return {
    invocationId: `inv-${seq}`,
    tool: {
      id: 'test.tool',
      version: '1.0.0',
      runtime: 'js',
      source,
      limits: { timeoutMs: 300, memoryMb: 16, maxOutputBytes: 4096, ...limits },
    },
    input,
    ...extra,
  };
}

export async function startBackend(
  options: IsolatedVmBackendOptions = {},
): Promise<SandboxBackend> {
  const backend = createIsolatedVmBackend({ workers: 1, ...options });
  for (let i = 0; i < 200 && !(await backend.health()).usable; i++)
    await new Promise((r) => setTimeout(r, 20));
  return backend;
}

/** After any attack, a benign call on the same backend must succeed and see a clean realm. */
export async function expectBenignSucceeds(backend: SandboxBackend): Promise<void> {
  const result = await backend.run(request(BENIGN, {}, { n: 7 }));
  expect(result).toMatchObject({
    ok: true,
    outputJson: JSON.stringify({ echoed: 7, leaked: 'undefined', proto: null }),
  });
}

export function expectFailure(result: RunResult, code: string, message?: RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.code).toBe(code);
  if (message) expect(result.message).toMatch(message);
  expect(result.message).not.toMatch(/\/work\/|node_modules|file:\/\//);
}

/** The worker processes this test process forked (its children). */
export function workerPids(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
