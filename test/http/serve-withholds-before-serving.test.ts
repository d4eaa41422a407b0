// The registry's per-tool checks (does each schema compile under the strict validator, does each JS
// entry parse without imports) run when the registry is first used, not before the service listens.
// Nothing may see a tool before they have run: a pinned tool whose schema the strict validator
// refuses is withheld from /readyz's first answer on and never listed. (That a served tool's first
// call validates its arguments and output is test/executor/validation-pipeline.test.ts.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { signLock } from '../../src/registry/lock.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { scanTool } from '../../src/registry/scan.ts';
import { createRunnerService } from '../../src/runtime/runner-service.ts';
import type { RunnerService } from '../../src/runtime/runner-service.ts';
import { addTool } from '../helpers/workspace.ts';
import { makeWorkspace, memoryLogger, type Workspace } from './helpers.ts';
import { SuiteAuditSink } from '../helpers/suite-output.ts';

let ws: Workspace;
let service: RunnerService;
let url: string;

beforeAll(async () => {
  ws = await makeWorkspace();
  const manifests = join(ws.dir, 'tool-manifests');
  const folder = addTool(
    { manifests },
    { id: 'acme.typo', source: 'export default function run() { return {}; }\n' },
  );
  const key = await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json'));
  await writeSignedLock(manifests, key);
  // Pin a schema the strict validator refuses, as a lock written before that check would have.
  const manifest = join(folder, 'manifest.yaml');
  writeFileSync(
    manifest,
    readFileSync(manifest, 'utf8').replace(
      '"additionalProperties": true\n  },\n  "outputSchema"',
      '"additionalProperties": true, "maxLenght": 3\n  },\n  "outputSchema"',
    ),
  );
  expect(readFileSync(manifest, 'utf8')).toContain('maxLenght');
  const lockFile = join(manifests, 'registry.lock.json');
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as {
    signature?: unknown;
    tools: Array<Record<string, unknown>>;
  };
  const scanned = await scanTool(manifests, manifest);
  lock.tools.find((t) => t.id === 'acme.typo')!.manifestSha256 = scanned.manifestSha256;
  const { signature: _s, ...body } = lock;
  writeFileSync(lockFile, JSON.stringify(await signLock(body as never, key)));

  service = await createRunnerService(ws.loaded, {
    audit: new SuiteAuditSink(),
    logger: memoryLogger().logger,
    backends: ['js'],
  });
  url = await service.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await service?.shutdown(2_000);
  ws?.cleanup();
});

it('the first /readyz names the withheld tool, and it is never listed', async () => {
  const ready = (await (await fetch(`${url}/readyz`)).json()) as {
    withheld?: Array<{ id: string; problems: string[] }>;
  };
  expect(ready.withheld).toEqual([
    { id: 'acme.typo', problems: [expect.stringContaining('unknown keyword: "maxLenght"')] },
  ]);
  const tools = ((await (await fetch(`${url}/v1/tools`)).json()) as { tools: { id: string }[] })
    .tools;
  expect(tools.map((t) => t.id)).not.toContain('acme.typo');
  expect(tools.map((t) => t.id)).toContain('text.word_count');
  expect(service.runner.registry().get('acme.typo')).toBeUndefined();
});
