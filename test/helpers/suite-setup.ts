/**
 * Vitest global setup: one suite root for the whole run, and the canary scan
 * at its end. Every worker and every process the tests spawn inherits
 * TMPDIR (so `os.tmpdir()` and every `mkdtemp` land under the root) and
 * TOOLCAGE_TEST_SUITE_ROOT. The teardown streams every line the system wrote
 * (test/helpers/canary-scan.ts has the scope) and fails the run on any
 * canary, keeping the root for a look; a clean run removes it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANARIES } from './canaries.ts';
import { scanSuiteOutput } from './canary-scan.ts';
import { SUITE_ROOT_ENV } from './suite-output.ts';

// Each vitest project runs the global setup: the first makes the root, the last scans it.
const state = globalThis as { __toolcageSuite?: { root: string; users: number } | undefined };

export default function setup(): () => Promise<void> {
  if (!state.__toolcageSuite) {
    // Short names: unix socket paths under TMPDIR (egress proxies, nested three folders deep)
    // must stay within the kernel's 107 bytes.
    const root = mkdtempSync(join(tmpdir(), 'tcs-'));
    mkdirSync(join(root, 't'));
    process.env[SUITE_ROOT_ENV] = root;
    process.env.TMPDIR = join(root, 't');
    state.__toolcageSuite = { root, users: 0 };
  }
  const suite = state.__toolcageSuite;
  suite.users++;
  return async () => {
    if (--suite.users > 0) return;
    state.__toolcageSuite = undefined;
    const started = Date.now();
    const report = await scanSuiteOutput(suite.root, CANARIES);
    const summary = `canary scan: ${report.files.length} files, ${report.lines} lines, ${(report.bytes / 1e6).toFixed(1)} MB in ${Date.now() - started} ms`;
    if (report.findings.length > 0) {
      const shown = report.findings
        .slice(0, 20)
        .map((f) => `  ${f.file}:${f.line}: ${f.what}`)
        .join('\n');
      throw new Error(
        `${summary}: ${report.findings.length} line(s) the system wrote hold a canary (kept in ${suite.root}):\n${shown}`,
      );
    }
    process.stderr.write(`${summary}: clean\n`);
    // A root-owned leftover (a container's bind mount) must not fail a clean run.
    try {
      rmSync(suite.root, { recursive: true, force: true });
    } catch (err) {
      process.stderr.write(
        `canary scan: could not remove ${suite.root}: ${(err as Error).message}\n`,
      );
    }
  };
}
