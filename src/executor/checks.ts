import { ToolcageError } from '../errors/toolcage-error.ts';
import type { CredentialLease } from '../ports/credentials.ts';
import type { RunResult } from '../ports/sandbox.ts';
import type { LoadedTool } from '../ports/tool.ts';
import { checkJsonShape, type JsonShapeLimits } from '../validation/json-limits.ts';
import { LeakScanner } from '../validation/leak-scan.ts';
import { RUN_FAILURE_MESSAGES } from './sandbox-run.ts';
import type { Trail } from './trail.ts';

/** The arguments against the runner's shape caps and the tool's input schema. */
export function validateInput(
  tool: LoadedTool,
  args: unknown,
  text: string,
  limits: JsonShapeLimits,
): void {
  const shape = checkJsonShape(args, limits, Buffer.byteLength(text));
  if (shape) throw new ToolcageError('input_invalid', { message: `The arguments ${shape}.` });
  const v = tool.validateInput(args);
  if (!v.ok)
    throw new ToolcageError('input_invalid', {
      message: `The arguments do not match ${tool.manifest.id}'s input schema: ${v.errors.join('; ')}.`,
      details: { errors: v.errors },
    });
}

/** The run's output: size, leaks of this run's credentials, JSON, the tool's output schema. */
export function validateOutput(
  tool: LoadedTool,
  result: RunResult,
  lease: CredentialLease | undefined,
  trail: Trail,
  maxDepth: number,
): unknown {
  if (!result.ok) throw new ToolcageError('internal');
  const limits = tool.manifest.limits;
  if (Buffer.byteLength(result.outputJson) > limits.maxOutputBytes)
    throw new ToolcageError('output_too_large', {
      message: RUN_FAILURE_MESSAGES.output_too_large!(tool),
    });
  if (lease && lease.secrets.length > 0) {
    const scanner = new LeakScanner(lease.secrets);
    if (
      scanner.found(result.outputJson) ||
      (result.stderr !== undefined && scanner.found(result.stderr))
    ) {
      trail.diagnostic = 'credential value found in tool output or stderr; output withheld';
      throw new ToolcageError('credential_leak');
    }
  }
  let output: unknown;
  try {
    output = JSON.parse(result.outputJson);
  } catch {
    throw new ToolcageError('sandbox_failed', {
      message: `${tool.manifest.id} returned output that is not JSON.`,
    });
  }
  // Same depth cap as the arguments: deeper output validates against a loose schema, then
  // breaks the serialisers after the audit said `allowed` (a 500 the audit never saw).
  const shape = checkJsonShape(
    output,
    { maxDepth, maxBytes: limits.maxOutputBytes },
    Buffer.byteLength(result.outputJson),
  );
  if (shape)
    throw new ToolcageError('output_invalid', {
      message: `${tool.manifest.id} returned output that is too deep: its values ${shape}; it was withheld.`,
    });
  const v = tool.validateOutput(output);
  if (!v.ok)
    throw new ToolcageError('output_invalid', {
      message: `${tool.manifest.id} returned output that does not match its output schema (${v.errors.slice(0, 5).join('; ')}); it was withheld.`,
      details: { errors: v.errors },
    });
  return output;
}
