// The broker's policy: deny by default, TTL capped, scopes only as granted, high risk needs approval;
// and what the broker mints verifies at the runner with exactly the granted fields.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { expect, it } from 'vitest';
import { decide, globMatch, parsePolicy } from '../../src/broker/policy.ts';
import { parseManifest } from '../../src/registry/manifest.ts';
import { argsHash } from '../../src/util/hash.ts';
import { brokerFor, execute, expectRefusal, useRunner } from '../helpers/runner.ts';

const POLICY = `
maxTtlSeconds: 300
defaultTtlSeconds: 60
risk: { high: { ttlSeconds: 120, approval: required } }
tools: { text.word_count: { ttlSeconds: 30 } }
roles:
  reader: { tools: ["text.*"], scopes: ["text:read"] }
  admin: { tools: ["*"] }
principals: { alice: [reader] }
`;
const manifest = (id: string, risk = 'low', scopes = '[text:read]') =>
  parseManifest(
    `id: ${id}\nversion: 1.0.0\ndescription: d\nruntime: js\nentry: a.js\ninputSchema: { type: object }\noutputSchema: { type: object }\nlimits: { timeoutMs: 1, memoryMb: 1, maxOutputBytes: 1 }\nrisk: ${risk}\nscopes: ${scopes}\n`,
    'm.yaml',
  );

it('denies by default: no role, or a role not listing the tool, gets policy_denied', () => {
  const p = parsePolicy(POLICY, 'policy.yaml');
  expect(() => decide(p, manifest('text.word_count'), [], {})).toThrow(
    expect.objectContaining({
      code: 'policy_denied',
      message:
        'Your roles (none) may not request text.word_count. Ask an administrator for a role that grants it.',
    }),
  );
  expect(() =>
    decide(p, manifest('repo.apply_patch', 'high', '[repo:write]'), ['reader'], {}),
  ).toThrow(expect.objectContaining({ code: 'policy_denied' }));
  expect(() => decide(p, manifest('text.word_count'), ['unknown-role', '__proto__'], {})).toThrow(
    expect.objectContaining({ code: 'policy_denied' }),
  );
});

it('caps the TTL by the tool rule and refuses more; defaults to the cap', () => {
  const p = parsePolicy(POLICY, 'policy.yaml');
  expect(decide(p, manifest('text.word_count'), ['reader'], {})).toEqual({
    ttlSeconds: 30,
    scope: ['text:read'],
    approvalRequired: false,
    roles: ['reader'],
    rule: 'role:reader',
  });
  expect(() => decide(p, manifest('text.word_count'), ['reader'], { ttlSeconds: 31 })).toThrow(
    expect.objectContaining({
      code: 'policy_denied',
      message:
        'A TTL of 31 s exceeds the policy maximum of 30 s for text.word_count (risk low). Ask for 30 s or less.',
    }),
  );
});

it('grants only scopes the role allows', () => {
  const p = parsePolicy(POLICY, 'policy.yaml');
  expect(() =>
    decide(p, manifest('text.word_count'), ['reader'], { scope: ['text:read', 'text:write'] }),
  ).toThrow(
    expect.objectContaining({
      code: 'policy_denied',
      message: 'Your roles may not be granted scope text:write.',
    }),
  );
});

it('high risk always requires approval', () => {
  const p = parsePolicy(POLICY.replace('approval: required', 'approval: none'), 'policy.yaml');
  expect(decide(p, manifest('x.y', 'high'), ['admin'], {}).approvalRequired).toBe(true);
});

it('refuses a policy whose tool TTL exceeds the hard maximum, an unknown key, or an unknown role', () => {
  expect(() => parsePolicy(POLICY.replace('ttlSeconds: 30', 'ttlSeconds: 301'), 'p.yaml')).toThrow(
    expect.objectContaining({ code: 'config_invalid' }),
  );
  expect(() => parsePolicy(`${POLICY}\nunsafe: true\n`, 'p.yaml')).toThrow(
    /p\.yaml: \(root\): Unrecognized key: "unsafe"/,
  );
  expect(() => parsePolicy(POLICY.replace('alice: [reader]', 'alice: [root]'), 'p.yaml')).toThrow(
    'p.yaml: principals.alice names unknown role root.',
  );
});

it('globs match whole ids, and regex metacharacters in globs are literal', () => {
  expect(globMatch('text.*', 'text.word_count')).toBe(true);
  expect(globMatch('text.*', 'textXword')).toBe(false);
  expect(globMatch('text.*', 'data.text.x')).toBe(false);
});

const s = useRunner();

it('the broker mints an EdDSA claim for one call with exactly the contract fields, which the runner accepts once', async () => {
  const broker = await brokerFor(s.t, s.ws);
  const args = { text: 'minted by the broker' };
  const issued = await broker.issueClaim({
    tool: 'text.word_count',
    args,
    sub: 'local-user',
    roles: ['admin'],
    tenant: 'acme',
  });
  expect(decodeProtectedHeader(issued.claim)).toEqual({
    alg: 'EdDSA',
    kid: s.ws.brokerKey.kid,
    typ: 'JWT',
  });
  const p = decodeJwt(issued.claim);
  expect(p).toMatchObject({
    iss: 'toolcage-broker',
    aud: 'toolcage-runner',
    sub: 'local-user',
    tenant: 'acme',
    tool: 'text.word_count',
    scope: ['text:read'],
    args_hash: argsHash(args),
    jti: issued.jti,
  });
  expect(p.exp! - p.nbf!).toBe(120); // the workspace policy's low-risk TTL
  expect(p).not.toHaveProperty('approval_id');
  expect(p).not.toHaveProperty('cnf');
  await expect(execute(s.t, 'text.word_count', args, issued.claim)).resolves.toMatchObject({
    result: { words: 4 },
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, issued.claim),
    'claim_replayed',
    /already been used/,
  );
});

it('the broker refuses a TTL above policy, and a role that does not cover the tool', async () => {
  const broker = await brokerFor(s.t, s.ws);
  await expectRefusal(
    broker.issueClaim({
      tool: 'text.word_count',
      args: {},
      sub: 'x',
      roles: ['admin'],
      tenant: 't',
      ttlSeconds: 3600,
    }),
    'policy_denied',
    /exceeds the policy maximum of 120 s/,
  );
  await expectRefusal(
    broker.issueClaim({
      tool: 'repo.apply_patch',
      args: {},
      sub: 'x',
      roles: ['support'],
      tenant: 't',
    }),
    'policy_denied',
    /may not request repo\.apply_patch/,
  );
});
