import type { RunLimits, RunResult } from '../../ports/sandbox.ts';
import { isEngineUnreachable, type ContainerState } from './api.ts';
import type { CallOutcome } from './warm.ts';

export interface ClassifyContext {
  limits: Required<RunLimits>;
  durationMs: () => number;
  /** The container's state after exit (for OOMKilled), undefined when it cannot be read. */
  inspect: () => Promise<ContainerState | undefined>;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns how a container call ended into the contract's result, in one
 * place. Messages are short and fixed: they never carry the tool's output
 * or stderr (those may hold anything, credentials included).
 *
 * - exit 0 with one JSON value on stdout → ok;
 * - stdout past `maxOutputBytes` → `output_too_large` (the container was killed at the cap);
 * - wall clock past `timeoutMs` → `timeout` (killed at the deadline); the
 *   message says so when the process count sat at the pids limit, which is
 *   how a fork bomb ends;
 * - killed by the kernel's OOM killer in the container's memory cgroup
 *   (`State.OOMKilled`, or SIGKILL (137) that no one but the kernel sent,
 *   since the runner's own kills are reported as timeout/overflow above)
 *   → `memory_limit`;
 * - the engine lost during the call → `sandbox_unavailable` (never the tool's timeout);
 * - any other non-zero exit, invalid UTF-8, empty or non-JSON output → `sandbox_failed`.
 */
export async function classify(outcome: CallOutcome, ctx: ClassifyContext): Promise<RunResult> {
  const stderr = outcome.output.stderr.toString('utf8');
  const fail = (code: Extract<RunResult, { ok: false }>['code'], message: string): RunResult => ({
    ok: false,
    code,
    message,
    durationMs: ctx.durationMs(),
    stderr,
  });
  switch (outcome.kind) {
    case 'overflow':
      return fail(
        'output_too_large',
        `The tool wrote more than its maxOutputBytes limit (${ctx.limits.maxOutputBytes} bytes) to stdout and was stopped.`,
      );
    case 'timeout':
      return fail(
        'timeout',
        outcome.pids !== undefined && outcome.pids >= ctx.limits.pids
          ? `The tool ran past its time limit (${ctx.limits.timeoutMs} ms) with its process limit (pids ${ctx.limits.pids}) exhausted, as a fork bomb does; it was stopped.`
          : `The tool ran past its time limit (${ctx.limits.timeoutMs} ms) and was stopped.`,
      );
    case 'aborted':
      return fail(
        'sandbox_failed',
        'The run was cancelled before it finished (the caller went away); the container was stopped.',
      );
    case 'engine_lost':
      return fail(
        'sandbox_unavailable',
        'The Docker engine stopped answering during the call, so the run was abandoned (not a fault of the tool). Retry once the engine is back.',
      );
    case 'broken':
      if (isEngineUnreachable(outcome.error))
        return fail(
          'sandbox_unavailable',
          'The connection to the Docker engine was lost during the call (not a fault of the tool). Retry once the engine is back.',
        );
      return fail(
        'sandbox_failed',
        'The Docker engine lost track of the container during the run.',
      );
    case 'exited':
      break;
  }
  const { statusCode, output } = outcome;
  if (statusCode !== 0) {
    let state = await ctx.inspect();
    if (statusCode === 137 && state && !state.OOMKilled) {
      // The engine records the OOM event and the exit separately; give the first a moment to land.
      await new Promise((r) => setTimeout(r, 50));
      state = (await ctx.inspect()) ?? state;
    }
    if (state?.OOMKilled === true || statusCode === 137) {
      return fail(
        'memory_limit',
        `The tool used more than its memory limit (${ctx.limits.memoryMb} MiB) and was killed.`,
      );
    }
    return fail(
      'sandbox_failed',
      `The tool exited with status ${statusCode}${statusCode > 128 && statusCode < 160 ? ` (signal ${statusCode - 128})` : ''}.`,
    );
  }
  let text: string;
  try {
    text = fatalUtf8.decode(output.stdout);
  } catch {
    return fail('sandbox_failed', 'The tool wrote output that is not valid UTF-8.');
  }
  text = text.trim();
  if (text === '') return fail('sandbox_failed', 'The tool exited without writing any output.');
  try {
    JSON.parse(text);
  } catch {
    return fail('sandbox_failed', 'The tool wrote output that is not one JSON value.');
  }
  return { ok: true, outputJson: text, durationMs: ctx.durationMs(), stderr };
}
