// `toolcage mcp --runner-url` keeps its own registry (the broker it hosts mints from it): each of its
// reloads is a `registry_reloaded` record too, taken with the tools now served or refused with the
// reason, and the verified registry stays when the lock no longer verifies.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { SuiteAuditSink } from '../helpers/suite-output.ts';
import { makeWorkspace, type Workspace } from '../http/helpers.ts';

let ws: Workspace;
let service: ToolcageMcpService;
const audit = new SuiteAuditSink();
beforeAll(async () => {
  ws = await makeWorkspace();
  // Nothing listens there: a reload never calls the runner.
  service = await ToolcageMcpService.create(ws.loaded, {
    runnerUrl: 'http://127.0.0.1:9',
    audit,
    log: () => {},
  });
});
afterAll(async () => {
  await service?.close();
  ws?.cleanup();
});

const reloads = () => audit.entries.filter((e) => e.kind === 'registry_reloaded');

it('records a reload that took, then one refused with the reason, keeping the verified registry', async () => {
  await service.reload();
  expect(reloads()).toHaveLength(1);
  expect(reloads()[0]).toMatchObject({ origin: 'service', outcome: 'ok' });
  expect((reloads()[0] as { tools: string[] }).tools).toContain('text.word_count@1.0.0');

  appendFileSync(join(ws.dir, 'tool-manifests', 'test.slow', 'slow.js'), '// edited\n');
  await service.reload();
  expect(reloads()).toHaveLength(2);
  expect(reloads()[1]).toMatchObject({ outcome: 'refused', errorCode: 'registry_invalid' });
  expect((reloads()[1] as { reason: string }).reason).toMatch(/test\.slow/);
});
