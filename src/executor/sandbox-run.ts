import { ToolcageError } from '../errors/toolcage-error.ts';
import type { CredentialLease } from '../ports/credentials.ts';
import type { ExecuteCall } from '../ports/execute.ts';
import type { RunResult, SandboxBackend } from '../ports/sandbox.ts';
import type { LoadedTool } from '../ports/tool.ts';
import { LeakScanner } from '../validation/leak-scan.ts';
import type { Trail } from './trail.ts';

/** How long past a run's own guard the executor waits for a queueing backend to start it (the backend refuses long waits itself). */
const QUEUE_GUARD_MS = 10 * 60_000;

export const RUN_FAILURE_MESSAGES: Record<string, (tool: LoadedTool) => string> = {
  timeout: (t) =>
    `The tool ${t.manifest.id} ran past its ${t.manifest.limits.timeoutMs} ms time limit and was stopped.`,
  memory_limit: (t) =>
    `The tool ${t.manifest.id} went past its ${t.manifest.limits.memoryMb} MB memory limit and was stopped.`,
  output_too_large: (t) =>
    `The tool ${t.manifest.id} produced more than ${t.manifest.limits.maxOutputBytes} bytes of output; it was withheld.`,
};

/** Runs the call in its tool's sandbox under the run's deadline; a failed run becomes its contract error. */
export async function runInSandbox(
  o: { backends: Partial<Record<'js' | 'docker', SandboxBackend>>; runGraceMs: number },
  call: ExecuteCall,
  tool: LoadedTool,
  lease: CredentialLease | undefined,
  trail: Trail,
): Promise<RunResult> {
  const backend = o.backends[tool.manifest.runtime];
  trail.backend = backend?.kind ?? tool.manifest.runtime;
  if (!backend)
    throw new ToolcageError('sandbox_unavailable', {
      message: `No ${tool.manifest.runtime} sandbox backend is configured on this runner.`,
    });
  // The backend enforces timeoutMs itself; this outer deadline only guards
  // against a backend that fails to (a hung engine), so a call always ends.
  // A backend that queues (signalsStart) says when the run starts: the guard
  // is re-armed then, so time spent waiting for a sandbox is never the tool's
  // `timeout`; the backend refuses a run that waits too long as
  // `sandbox_unavailable` itself.
  // (A plain timer and one controller: AbortSignal.timeout/any cost more per call.)
  // One timer per call, armed once: the start only records when it came, and the timer, when
  // it fires (calls end long before it), re-arms itself for whatever the deadline then is.
  const controller = new AbortController();
  let deadlinePassed = false;
  let started = backend.signalsStart !== true;
  const guardMs = tool.manifest.limits.timeoutMs + o.runGraceMs;
  const queuedAt = performance.now();
  let startedAt = queuedAt;
  const check = () => {
    const deadline = started ? startedAt + guardMs : queuedAt + guardMs + QUEUE_GUARD_MS;
    const left = deadline - performance.now();
    if (left > 0) {
      timer = setTimeout(check, Math.ceil(left));
      return;
    }
    deadlinePassed = true;
    controller.abort(new ToolcageError('timeout'));
  };
  let timer = setTimeout(check, guardMs);
  const onCallAbort = () => controller.abort(call.signal?.reason);
  if (call.signal?.aborted) onCallAbort();
  else call.signal?.addEventListener('abort', onCallAbort, { once: true });
  let result: RunResult;
  try {
    result = await backend.run(
      {
        invocationId: trail.invocationId,
        tool: tool.sandbox,
        input: call.args,
        credentials: lease?.credentials ?? [],
        tenant: trail.claim?.tenant ?? '',
        onStart: () => {
          if (started) return;
          started = true;
          startedAt = performance.now();
        },
      },
      controller.signal,
    );
  } finally {
    clearTimeout(timer);
    call.signal?.removeEventListener('abort', onCallAbort);
  }
  if (result.runtime) trail.sandboxRuntime = result.runtime;
  if (result.stderr) {
    // stderr goes to the audit line only, and only when it carries no credential of this run.
    const leaked =
      lease && lease.secrets.length > 0 && new LeakScanner(lease.secrets).found(result.stderr);
    trail.diagnostic = leaked
      ? 'stderr withheld: it carried a credential of this run'
      : result.stderr.slice(0, 2048);
  }
  if (!result.ok) {
    if (deadlinePassed && !started && !call.signal?.aborted)
      throw new ToolcageError('sandbox_unavailable', {
        message: `No ${backend.kind} sandbox became free for ${tool.manifest.id} in time. Retry after the indicated delay.`,
        retryAfterSeconds: 1,
      });
    if (deadlinePassed && !call.signal?.aborted)
      throw new ToolcageError('timeout', { message: RUN_FAILURE_MESSAGES.timeout!(tool) });
    if (result.code === 'sandbox_unavailable' && result.retryAfterSeconds !== undefined)
      throw new ToolcageError('sandbox_unavailable', {
        message: result.message,
        retryAfterSeconds: result.retryAfterSeconds,
      });
    const message =
      RUN_FAILURE_MESSAGES[result.code]?.(tool) ?? `${tool.manifest.id}: ${result.message}`;
    throw new ToolcageError(result.code, {
      message,
      ...(result.hint ? { hint: result.hint } : {}),
    });
  }
  return result;
}
