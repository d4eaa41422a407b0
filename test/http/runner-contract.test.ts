import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attackerKey,
  flipSignatureByte,
  forge,
  hs256WithSecret,
  payloadFor,
  unsecured,
} from '../helpers/forge.ts';
import {
  call,
  invoke,
  makeWorkspace,
  mint,
  openBroker,
  startRunner,
  type HttpResult,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import { ERROR_CATALOGUE } from '../../src/errors/catalogue.ts';

let ws: Workspace;
let runner: RunningRunner;
let broker: BrokerRuntime;
const WC = 'text.word_count';
const ARGS = { text: 'one two three' };

beforeAll(async () => {
  ws = await makeWorkspace({
    runner: { clockToleranceSeconds: 0 },
    governors: { loopGuard: { enabled: false } },
  });
  runner = await startRunner(ws);
  broker = await openBroker(ws);
});
afterAll(async () => {
  await runner?.close();
  await broker?.close();
  ws?.cleanup();
});

/** The contract's error body, with the status the catalogue fixes for the code. */
function expectError(r: HttpResult, code: keyof typeof ERROR_CATALOGUE, message?: RegExp): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({
    status: ERROR_CATALOGUE[code].status,
    code,
  });
  expect(r.body.error.requestId).toBe(r.headers.get('x-request-id'));
  expect(typeof r.body.error.message).toBe('string');
  if (message) expect(r.body.error.message).toMatch(message);
}

describe('runner over HTTP: every contract status and code', () => {
  it('runs a tool with a fresh claim: 200 {result, invocationId}', async () => {
    const r = await call(runner.url, broker, WC, ARGS);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      result: { words: 3, lines: 1, characters: 13 },
      invocationId: expect.stringMatching(/^inv_/),
    });
  });

  it('claim_missing 401 with a Bearer challenge', async () => {
    const r = await invoke(runner.url, WC, ARGS, undefined);
    expectError(r, 'claim_missing');
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('claim_malformed 401 for a token that is not a compact JWS, and for another auth scheme', async () => {
    expectError(await invoke(runner.url, WC, ARGS, 'not-a-jwt'), 'claim_malformed');
    expectError(
      await invoke(runner.url, WC, ARGS, undefined, { authorization: 'Basic dXNlcjpwYXNz' }),
      'claim_malformed',
    );
  });

  it('claim_algorithm_forbidden 401 for alg none and HS256', async () => {
    const p = payloadFor({ tool: WC, args: ARGS, scope: ['text:read'] });
    expectError(
      await invoke(runner.url, WC, ARGS, unsecured(p, ws.brokerKey.kid)),
      'claim_algorithm_forbidden',
    );
    expectError(
      await invoke(runner.url, WC, ARGS, hs256WithSecret(p, 'secret', ws.brokerKey.kid)),
      'claim_algorithm_forbidden',
    );
  });

  it('claim_signature_invalid 401 for a flipped signature and for a key the runner does not trust', async () => {
    const { claim } = await mint(broker, WC, ARGS);
    expectError(
      await invoke(runner.url, WC, ARGS, flipSignatureByte(claim)),
      'claim_signature_invalid',
    );
    const attacker = await attackerKey('EdDSA', ws.brokerKey.kid);
    expectError(
      await invoke(
        runner.url,
        WC,
        ARGS,
        await forge(attacker as never, { tool: WC, args: ARGS, scope: ['text:read'] }),
      ),
      'claim_signature_invalid',
    );
  });

  it('claim_issuer_untrusted, claim_audience_mismatch, claim_expired, claim_not_yet_valid, claim_ttl_too_long: 401 each', async () => {
    const f = { tool: WC, args: ARGS, scope: ['text:read'] };
    const now = Math.floor(Date.now() / 1000);
    expectError(
      await invoke(runner.url, WC, ARGS, await forge(ws.brokerKey, f, { iss: 'evil-broker' })),
      'claim_issuer_untrusted',
    );
    expectError(
      await invoke(runner.url, WC, ARGS, await forge(ws.brokerKey, f, { aud: 'another-runner' })),
      'claim_audience_mismatch',
    );
    expectError(
      await invoke(
        runner.url,
        WC,
        ARGS,
        await forge(ws.brokerKey, { ...f, nowS: now - 120, ttlS: 60 }),
      ),
      'claim_expired',
    );
    expectError(
      await invoke(
        runner.url,
        WC,
        ARGS,
        await forge(ws.brokerKey, { ...f, nowS: now + 120, ttlS: 60 }),
      ),
      'claim_not_yet_valid',
    );
    expectError(
      await invoke(runner.url, WC, ARGS, await forge(ws.brokerKey, { ...f, ttlS: 3600 })),
      'claim_ttl_too_long',
    );
  });

  it('claim_replayed 409 for the second use of a claim', async () => {
    const { claim } = await mint(broker, WC, ARGS);
    expect((await invoke(runner.url, WC, ARGS, claim)).status).toBe(200);
    expectError(await invoke(runner.url, WC, ARGS, claim), 'claim_replayed', /single-use/);
  });

  it('tool_not_allowed 404 for a tool outside the registry', async () => {
    const { claim } = await mint(broker, WC, ARGS);
    expectError(
      await invoke(runner.url, 'evil.tool', ARGS, claim),
      'tool_not_allowed',
      /GET \/v1\/tools/,
    );
  });

  it('tool_mismatch 403 for a claim minted for another tool', async () => {
    const args = { document: {}, pointers: ['/a'] };
    const { claim } = await mint(broker, 'data.json_query', args);
    expectError(await invoke(runner.url, WC, args, claim), 'tool_mismatch');
  });

  it('scope_insufficient 403 when the claim lacks a scope the tool requires', async () => {
    expectError(
      await call(runner.url, broker, WC, ARGS, { scope: ['data:read'] }),
      'scope_insufficient',
      /text:read/,
    );
  });

  it('args_mismatch 403 for arguments other than those the claim was minted for', async () => {
    const { claim } = await mint(broker, WC, ARGS);
    expectError(
      await invoke(runner.url, WC, { text: 'one two three four' }, claim),
      'args_mismatch',
    );
  });

  it('approval_required 403 for a high-risk tool without an approval, 200 with one', async () => {
    const args = {
      files: { 'a.txt': 'hello' },
      edits: [{ path: 'a.txt', find: 'hello', replace: 'bye' }],
    };
    const noApproval = await forge(ws.brokerKey, {
      tool: 'repo.apply_patch',
      args,
      scope: ['repo:write'],
    });
    expectError(
      await invoke(runner.url, 'repo.apply_patch', args, noApproval),
      'approval_required',
    );
    const approval = await broker.broker.recordApproval({
      tool: 'repo.apply_patch',
      args,
      sub: 'local-user',
      tenant: 'default',
      status: 'approved',
      decidedBy: 'alice',
    });
    const r = await call(runner.url, broker, 'repo.apply_patch', args, { approvalId: approval.id });
    expect(r.status).toBe(200);
    expect(r.body.result.files['a.txt']).toBe('bye');
  });

  it('input_invalid 422 for arguments that break the input schema', async () => {
    expectError(await call(runner.url, broker, WC, { text: 42 }), 'input_invalid', /input schema/);
  });

  it('output_invalid 502 when the tool output breaks its schema', async () => {
    expectError(
      await call(runner.url, broker, 'test.bad_output', {}),
      'output_invalid',
      /withheld/,
    );
  });

  it('timeout 504 when the tool runs past timeoutMs', async () => {
    expectError(await call(runner.url, broker, 'test.spin', {}), 'timeout', /200 ms/);
  });

  it('writes one audit line per decision carrying the HTTP request id', async () => {
    const r = await invoke(runner.url, WC, ARGS, undefined, { 'x-request-id': 'trace-0123456789' });
    expect(r.headers.get('x-request-id')).toBe('trace-0123456789');
    const lines = runner.audit.events.filter((e) => e.requestId === 'trace-0123456789');
    expect(lines).toEqual([
      expect.objectContaining({ outcome: 'refused', errorCode: 'claim_missing', toolId: WC }),
    ]);
  });
});
