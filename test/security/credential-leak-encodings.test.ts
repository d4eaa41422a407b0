/**
 * Attack: a tool that was shown a credential (expose: env/file) smuggles it
 * out in its output or its stderr, raw or encoded. Each encoding is caught:
 * `credential_leak`, output withheld, stderr kept out of the audit line.
 * The sandbox is a stand-in that returns exactly the leaked text, so every
 * encoding is tested through the real executor, lanes and leak scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SuiteAuditSink } from '../helpers/suite-output.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';
import { ClaimVerifier } from '../../src/claims/verify.ts';
import { createKeyResolver } from '../../src/claims/key-source.ts';
import { buildCredentials } from '../../src/runtime/credentials.ts';
import { ToolcageExecutor } from '../../src/executor/executor.ts';
import { createRunner, type Runner } from '../../src/runtime/runner.ts';
import type { RunResult, SandboxBackend } from '../../src/ports/sandbox.ts';
import { forge } from '../helpers/forge.ts';
import { expectRefusal, requestId } from '../helpers/runner.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { writeEgressTool } from '../egress/kit.ts';

const SECRET = `tok/en+with=odd chars&é-${CANARY_MARK}-0123456789`;
const b = Buffer.from(SECRET, 'utf8');
const ENCODINGS: Record<string, string> = {
  raw: SECRET,
  'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
  base64: b.toString('base64'),
  base64url: b.toString('base64url'),
  'base64 inside a longer blob (offset 1)': Buffer.concat([
    Buffer.from('x'),
    b,
    Buffer.from('tail'),
  ]).toString('base64'),
  'base64url inside a longer blob (offset 2)': Buffer.concat([Buffer.from('xy'), b]).toString(
    'base64url',
  ),
  hex: b.toString('hex'),
  'HEX (upper case)': b.toString('hex').toUpperCase(),
  'URL-encoded': encodeURIComponent(SECRET),
};

let ws: Workspace;
let runner: Runner;
let executor: ToolcageExecutor;
const audit = new SuiteAuditSink();
let next: { outputJson: string; stderr?: string } = { outputJson: '{}' };
const stand_in: SandboxBackend = {
  kind: 'js',
  async run(): Promise<RunResult> {
    return { ok: true, durationMs: 1, ...next };
  },
  health: async () => ({ usable: true, detail: 'stand-in' }),
  dispose: async () => {},
};

beforeAll(async () => {
  ws = await makeWorkspace({
    prefix: 'toolcage-leak-',
    config: (t) =>
      `${t}credentials:\n  lanes:\n    shown:\n      kind: static\n      file: shown-token\n      expose: [env]\n`,
  });
  const { writeFileSync } = await import('node:fs');
  writeFileSync(ws.path('shown-token'), SECRET, { mode: 0o600 });
  writeEgressTool(ws, {
    id: 'test.leaky',
    source: 'export default function run() { return {}; }',
    egress: [],
    credentials: [{ lane: 'shown', as: 'TOKEN', expose: 'env' }],
  });
  await ws.relock();
  ws.reload();
  runner = await createRunner(ws.loaded, { backends: [] });
  const c = ws.loaded.config;
  executor = new ToolcageExecutor({
    registry: runner.registry,
    verifier: new ClaimVerifier({
      keys: createKeyResolver({ jwksFile: ws.path('keys', 'broker.jwks.json') }),
      trustedIssuers: c.runner.trustedIssuers,
      audience: c.runner.audience,
      maxTtlSeconds: c.runner.maxTtlSeconds,
      clockToleranceSeconds: c.runner.clockToleranceSeconds,
    }),
    replay: runner.stores.replay,
    approvals: runner.stores.approvals,
    backends: { js: stand_in },
    audit,
    credentials: (await buildCredentials(ws.loaded, runner.egress)).provider,
  });
});
afterAll(async () => {
  await runner?.close();
  ws?.cleanup();
});

async function call() {
  const claim = await forge(ws.brokerKey, { tool: 'test.leaky', args: {}, scope: ['test:run'] });
  return executor.execute({ toolId: 'test.leaky', args: {}, claim, requestId: requestId() });
}

describe('a credential leaked in any common encoding is caught', () => {
  it('a clean run passes (no false positive)', async () => {
    next = { outputJson: '{"ok":true}', stderr: 'all fine' };
    expect((await call()).result).toEqual({ ok: true });
  });

  for (const [name, encoded] of Object.entries(ENCODINGS)) {
    it(`in the output: ${name}`, async () => {
      next = { outputJson: JSON.stringify({ data: `prefix ${encoded} suffix` }) };
      await expectRefusal(
        call(),
        'credential_leak',
        'The tool output carried an injected credential; it was withheld.',
      );
    });
    it(`in stderr: ${name}`, async () => {
      next = { outputJson: '{"ok":true}', stderr: `debug: ${encoded}\n` };
      await expectRefusal(
        call(),
        'credential_leak',
        'The tool output carried an injected credential; it was withheld.',
      );
      expect(audit.events.at(-1)).toMatchObject({
        errorCode: 'credential_leak',
        diagnostic: 'credential value found in tool output or stderr; output withheld',
      });
    });
  }

  it('no audit line holds the value in any encoding', () => {
    const text = audit.events.map((e) => JSON.stringify(e)).join('\n');
    expect(audit.events.length).toBe(1 + 2 * Object.keys(ENCODINGS).length);
    for (const encoded of Object.values(ENCODINGS)) expect(text).not.toContain(encoded);
    expect(audit.events.every((e) => JSON.stringify(e.credentialLanes) === '["shown"]')).toBe(true);
  });
});
