import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ToolcageError, toToolcageError } from '../errors/toolcage-error.ts';
import { CLI_HINTS } from './hints.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';

/** Reads a JSON file the user named on the command line; a bad file is the caller's error, said plainly. */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ToolcageError('request_invalid', {
      message: `Cannot read ${what} file ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`,
      cause,
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ToolcageError('request_invalid', {
      message: `${what} file ${file} is not valid JSON: ${(cause as Error).message}.`,
      cause,
    });
  }
}

export function readTextFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw new ToolcageError('request_invalid', {
      message: `Cannot read ${what} file ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}.`,
      cause,
    });
  }
}

export function writeSecretFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}

export function configFrom(opts: { config?: string }): LoadedConfig {
  return loadConfig(opts.config ?? 'toolcage.config.yaml');
}

export function newRequestId(): string {
  return `req_${randomUUID()}`;
}

/** The contract's CLI refusal: the JSON error body on stderr and a non-zero exit. */
export function failWith(err: unknown, requestId = newRequestId()): never {
  const e = toToolcageError(err);
  const body = e.toBody(requestId, CLI_HINTS);
  if (e.code === 'internal' && e.cause instanceof Error && process.env.TOOLCAGE_DEBUG === '1') {
    (body.error as Record<string, unknown>).debug = e.cause.stack;
  }
  process.stderr.write(`${JSON.stringify(body)}\n`);
  process.exitCode = e.status >= 500 ? 1 : 2;
  throw new CliExit();
}

/** Thrown after the error is printed, to unwind without printing twice. */
export class CliExit extends Error {}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Wraps a command action: every failure becomes the contract's JSON error. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof CliExit) return;
      try {
        failWith(err);
      } catch {
        /* printed */
      }
    }
  };
}
