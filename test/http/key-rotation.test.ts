import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { writeKeyPair } from '../../src/cli/commands/keys.ts';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import {
  invoke,
  makeWorkspace,
  sleep,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';

const KEY = 'tck_rotation_0123456789';
let ws: Workspace;
let broker: BrokerService;
let runner: RunningRunner | undefined;
const PORT_PLACEHOLDER = 0;

async function startBroker(signingKeys: string[], port: number): Promise<string> {
  const raw = parseYaml(readFileSync(ws.configFile, 'utf8')) as { broker: Record<string, unknown> };
  raw.broker.signingKeys = signingKeys;
  writeFileSync(ws.configFile, stringifyYaml(raw));
  broker = await createBrokerService(loadConfig(ws.configFile));
  return broker.listen({ host: '127.0.0.1', port });
}

async function claimFor(url: string, text: string, ttlSeconds: number): Promise<string> {
  const r = await fetch(`${url}/v1/claims`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify({ tool: 'text.word_count', args: { text }, ttlSeconds }),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { claim: string }).claim;
}

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: { apiKeys: [{ id: 'svc', sha256: apiKeyHash(KEY), subject: 'svc', roles: ['admin'] }] },
    // No clock tolerance, so the old claim's expiry is observable within the test.
    runner: { clockToleranceSeconds: 0 },
  });
});
afterAll(async () => {
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

describe('broker key rotation', () => {
  it('a claim signed by the old key verifies at the runner after the new key is added, until it expires', async () => {
    const oldKid = ws.brokerKey.kid;
    let url = await startBroker(['keys/broker.private.jwk.json'], PORT_PLACEHOLDER);
    const port = Number(new URL(url).port);
    // The runner trusts the broker's published JWKS (refetched on an unknown kid).
    const raw = parseYaml(readFileSync(ws.configFile, 'utf8')) as {
      runner: Record<string, unknown>;
    };
    raw.runner.brokerKeys = {
      jwksUrl: `${url}/.well-known/jwks.json`,
      cacheMaxAgeMs: 60_000,
      cooldownMs: 1,
    };
    writeFileSync(ws.configFile, stringifyYaml(raw));
    ws.loaded = loadConfig(ws.configFile);
    runner = await startRunner(ws);

    const oldClaim = await claimFor(url, 'old key one', 3);
    const oldClaimLater = await claimFor(url, 'old key two', 3);
    expect(decodeProtectedHeader(oldClaim).kid).toBe(oldKid);

    // Rotate: a new key signs, the old one stays published.
    const { kid: newKid } = await writeKeyPair(join(ws.dir, 'keys'), 'broker-2', 'EdDSA', true);
    await broker.shutdown();
    url = await startBroker(
      ['keys/broker-2.private.jwk.json', 'keys/broker.private.jwk.json'],
      port,
    );
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);

    const newClaim = await claimFor(url, 'new key', 60);
    expect(decodeProtectedHeader(newClaim).kid).toBe(newKid);
    expect(
      (await invoke(runner.url, 'text.word_count', { text: 'new key' }, newClaim)).status,
    ).toBe(200);
    expect(
      (await invoke(runner.url, 'text.word_count', { text: 'old key one' }, oldClaim)).status,
    ).toBe(200);

    // Once the old claim's lifetime has passed it is refused as expired, not as an unknown key.
    await sleep(3_300);
    const late = await invoke(
      runner.url,
      'text.word_count',
      { text: 'old key two' },
      oldClaimLater,
    );
    expect({ status: late.status, code: late.body.error.code }).toEqual({
      status: 401,
      code: 'claim_expired',
    });
  });
});
