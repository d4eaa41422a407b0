/**
 * Where isolated-vm's errors and the guest prelude's verdicts become contract
 * codes, in one place (STYLE.md, "Translate a dependency's error where it
 * enters"). Messages are short, sanitised, and never carry a host stack.
 */
import type { RunFailureCode } from '../../ports/sandbox.ts';

export type Failure = {
  ok: false;
  code: RunFailureCode;
  message: string;
  /** Overload refusals only: when a retry may find a free worker. */
  retryAfterSeconds?: number;
};
export type Success = { ok: true; outputJson: string };

/** Why the worker itself stopped a run (it disposed the isolate to do so). */
export type StopReason = 'timeout' | 'memory' | 'aborted';

const MESSAGE_MAX = 200;

/** Printable, single-line, at most ~200 characters. */
export function sanitise(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > MESSAGE_MAX ? flat.slice(0, MESSAGE_MAX - 1) + '…' : flat;
}

function failure(code: RunFailureCode, message: string): Failure {
  return { ok: false, code, message };
}

/**
 * Guest errors an allocation refused by a limit raises (the tool may have
 * caught and rethrown them). The guest can also construct them itself, and
 * `Invalid string length` is V8's own cap on a string, not our memory limit:
 * so the message alone is never enough (see `decodeInvokeResult`'s `nearLimit`).
 */
function isAllocationFailure(message: string): boolean {
  return /^RangeError: (Array buffer allocation failed|Invalid string length|Invalid typed array length|Array buffer allocation)/.test(
    message,
  );
}

export function stopped(reason: StopReason, timeoutMs: number, memoryMb: number): Failure {
  switch (reason) {
    case 'timeout':
      return failure(
        'timeout',
        `The tool ran longer than its ${timeoutMs} ms limit and was stopped.`,
      );
    case 'memory':
      return failure(
        'memory_limit',
        `The tool used more than its ${memoryMb} MB memory limit and was stopped.`,
      );
    case 'aborted':
      return failure('sandbox_failed', 'aborted');
  }
}

/**
 * An exception thrown by isolated-vm into the worker while compiling,
 * instantiating, evaluating or invoking the tool. Only `message` is used:
 * `stack` names host files.
 */
export function translateIsolateError(err: unknown, timeoutMs: number, memoryMb: number): Failure {
  const message =
    err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
  if (message.includes('due to memory limit') || message.includes('Array buffer allocation failed'))
    return stopped('memory', timeoutMs, memoryMb);
  if (message.includes('Script execution timed out'))
    return stopped('timeout', timeoutMs, memoryMb);
  if (message.includes('Isolate is disposed') || message.includes('Isolate was disposed'))
    return failure('sandbox_failed', 'The sandbox isolate was lost during the run.');
  if (message.startsWith('toolcage: '))
    return failure('sandbox_failed', sanitise(message.slice('toolcage: '.length)));
  return failure('sandbox_failed', sanitise(`The tool failed to load: ${message}`));
}

/** The string `invoke` in sandboxes/isolated-vm/prelude.js resolved to. */
export function decodeInvokeResult(
  value: unknown,
  maxOutputBytes: number,
  timeoutMs: number,
  memoryMb: number,
  /**
   * Whether the isolate's own memory (heap plus array buffers) is near its
   * limit after the throw: only then is an allocation RangeError a limit hit.
   * Asked only for such errors, since it costs a heap-statistics call.
   */
  nearLimit: () => boolean = () => false,
): Success | Failure {
  if (typeof value !== 'string' || value.length === 0)
    return failure('sandbox_failed', 'The sandbox broke its protocol.');
  const tag = value[0];
  const rest = value.slice(1);
  switch (tag) {
    case 'o': {
      const bytes = Buffer.byteLength(rest, 'utf8');
      if (bytes > maxOutputBytes)
        return failure(
          'output_too_large',
          `The output is ${bytes} bytes, above the ${maxOutputBytes} byte limit.`,
        );
      return { ok: true, outputJson: rest };
    }
    case 'x':
      return failure(
        'output_too_large',
        `The output is at least ${sanitise(rest)} bytes, above the ${maxOutputBytes} byte limit.`,
      );
    case 'n':
      return failure(
        'sandbox_failed',
        'The tool output is not JSON (undefined, a function, a BigInt or a cycle).',
      );
    case 'f':
      return failure(
        'sandbox_failed',
        'The tool module has no default export function run(input, ctx).',
      );
    case 'e':
      if (isAllocationFailure(rest) && nearLimit()) return stopped('memory', timeoutMs, memoryMb);
      return failure('sandbox_failed', sanitise(`The tool threw: ${rest}`));
    default:
      return failure('sandbox_failed', 'The sandbox broke its protocol.');
  }
}

/** A worker process that ended while a run was in flight. */
export function workerExited(codeOrSignal: string, stderrTail: string): Failure {
  if (/out of memory|heap limit|OOM|Allocation failed/i.test(stderrTail))
    return failure('memory_limit', 'The sandbox worker ran out of memory and was replaced.');
  return failure(
    'sandbox_failed',
    `The sandbox worker exited (${codeOrSignal}) during the run and was replaced.`,
  );
}
