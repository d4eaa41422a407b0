// Attack: someone who can read the state store (a copied SQLite file, a backup, a Redis replica)
// rides a signed-in operator's console session with what is stored there. The store keys a
// session by a digest of the cookie's id and keeps neither the id, nor the CSRF token, nor the
// credential, so nothing read from it opens the console.
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { makeWorkspace, type Workspace } from '../http/helpers.ts';

const ALICE = 'tck_copied_store_alice_0123456789';
let ws: Workspace;
let broker: BrokerService;
let url: string;

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        {
          id: 'alice',
          sha256: apiKeyHash(ALICE),
          subject: 'alice',
          roles: ['approver'],
          tenant: 'acme',
        },
      ],
    },
  });
  broker = await createBrokerService(loadConfig(ws.configFile));
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await broker?.shutdown();
  ws?.cleanup();
});

const page = (cookie: string) =>
  fetch(`${url}/console/approvals`, {
    redirect: 'manual',
    headers: { cookie: `toolcage_console=${cookie}` },
  });

it('nothing read from the state store opens the console; the real cookie does', async () => {
  const login = await fetch(`${url}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ credential: ALICE }).toString(),
  });
  const cookie = /toolcage_console=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]!;
  const real = await page(cookie);
  expect(real.status).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await real.text())![1]!;

  const copy = new DatabaseSync(ws.loaded.path(ws.loaded.config.state.sqliteFile), {
    readOnly: true,
  });
  const rows = copy.prepare('SELECT key, record FROM console_sessions').all() as {
    key: string;
    record: string;
  }[];
  copy.close();
  expect(rows).toHaveLength(1);
  const { key, record } = rows[0]!;
  for (const secret of [cookie, csrf, ALICE]) {
    expect(key).not.toContain(secret);
    expect(record).not.toContain(secret);
  }
  // The stored key used as a cookie: not a session.
  const forged = await page(key);
  expect(forged.status).toBe(303);
  expect(forged.headers.get('location')).toBe('/console/login');
});
