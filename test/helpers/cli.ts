import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `toolcage ...` as a separate Node process, the way a user does. */
export function runCli(
  args: string[],
  options: { cwd: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 30_000,
        env: { ...process.env, TOOLCAGE_DEBUG: '' },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The contract's CLI refusal: the JSON error body on stderr (its last JSON line). */
export function cliError(r: CliResult): { code: string; message: string; requestId: string } {
  const line = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`no JSON error on stderr: ${r.stderr}`);
  return (JSON.parse(line) as { error: { code: string; message: string; requestId: string } })
    .error;
}
