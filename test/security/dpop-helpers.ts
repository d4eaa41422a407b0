import { afterAll, beforeAll, expect } from 'vitest';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createDpopProof } from '../../src/claims/dpop.ts';
import { publicJwkOf } from '../../src/claims/keys.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  invoke,
  makeWorkspace,
  mint,
  openBroker,
  startRunner,
  type HttpResult,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';

export const TOOL = 'text.word_count';
export const ARGS = { text: 'bound to a key' };

export async function newKey(
  alg: 'ES256' | 'EdDSA' = 'ES256',
): Promise<{ privateJwk: JWK; jkt: string }> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const privateJwk = await exportJWK(privateKey);
  return { privateJwk, jkt: await calculateJwkThumbprint(publicJwkOf(privateJwk)) };
}

/** A runner and broker; `bound()` mints a claim bound (cnf.jkt) to a fresh client key. */
export function dpopSetup() {
  const ctx = {} as { ws: Workspace; runner: RunningRunner; broker: BrokerRuntime; htu: string };
  beforeAll(async () => {
    ctx.ws = await makeWorkspace({ governors: { loopGuard: { enabled: false } } });
    ctx.runner = await startRunner(ctx.ws);
    ctx.broker = await openBroker(ctx.ws);
    ctx.htu = `${ctx.runner.url}/v1/tools/${TOOL}/invoke`;
  });
  afterAll(async () => {
    await ctx.runner?.close();
    await ctx.broker?.close();
    ctx.ws?.cleanup();
  });
  return {
    ctx,
    async bound() {
      const key = await newKey();
      const { claim } = await mint(ctx.broker, TOOL, ARGS, { dpopJkt: key.jkt });
      return { key, claim };
    },
    proof(
      privateJwk: JWK,
      claim: string,
      over: { htm?: string; htu?: string; iat?: number; jti?: string; accessToken?: string } = {},
    ) {
      return createDpopProof({
        privateJwk,
        htm: over.htm ?? 'POST',
        htu: over.htu ?? ctx.htu,
        accessToken: over.accessToken ?? claim,
        ...(over.iat !== undefined ? { iat: over.iat } : {}),
        ...(over.jti ? { jti: over.jti } : {}),
      });
    },
    send(claim: string, proof?: string): Promise<HttpResult> {
      return invoke(
        ctx.runner.url,
        TOOL,
        ARGS,
        claim,
        proof === undefined ? {} : { dpop: proof, authorization: `DPoP ${claim}` },
      );
    },
  };
}

export function expectDpopInvalid(r: HttpResult, message: RegExp): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({
    status: 401,
    code: 'dpop_invalid',
  });
  expect(r.body.error.message).toMatch(message);
  expect(r.headers.get('www-authenticate')).toMatch(/^DPoP /);
}
