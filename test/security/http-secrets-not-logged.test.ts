import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDpopProof } from '../../src/claims/dpop.ts';
import {
  invoke,
  makeWorkspace,
  mint,
  openBroker,
  startRunner,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import { newKey } from './dpop-helpers.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

// Attack surface: access logs and audit lines leaking bearer claims, DPoP proofs, arguments or output.
describe('HTTP: Authorization, DPoP, bodies and query strings never reach the logs', () => {
  let ws: Workspace;
  let runner: RunningRunner;
  let broker: BrokerRuntime;
  beforeAll(async () => {
    ws = await makeWorkspace();
    runner = await startRunner(ws);
    broker = await openBroker(ws);
  });
  afterAll(async () => {
    await runner?.close();
    await broker?.close();
    ws?.cleanup();
  });

  it('logs one line per request with no claim, proof, argument, result or query string', async () => {
    const secretText = `top-secret-argument-value-${CANARY_MARK}`;
    const key = await newKey();
    const { claim } = await mint(
      broker,
      'text.word_count',
      { text: secretText },
      { dpopJkt: key.jkt },
    );
    const proof = await createDpopProof({
      privateJwk: key.privateJwk,
      htm: 'POST',
      htu: `${runner.url}/v1/tools/text.word_count/invoke`,
      accessToken: claim,
    });
    const ok = await invoke(runner.url, 'text.word_count', { text: secretText }, claim, {
      dpop: proof,
    });
    expect(ok.status).toBe(200);
    await invoke(runner.url, 'text.word_count', { text: secretText }, claim, { dpop: proof });
    await fetch(`${runner.url}/v1/tools?token=query-secret-123`);
    const all = [...runner.logs, ...runner.audit.events.map((e) => JSON.stringify(e))].join('\n');
    expect(runner.logs.length).toBeGreaterThanOrEqual(3);
    for (const secret of [
      claim,
      claim.split('.')[2]!,
      proof,
      proof.split('.')[2]!,
      secretText,
      'query-secret-123',
      key.privateJwk.d!,
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
