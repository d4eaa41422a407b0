import { describe, expect, it } from 'vitest';
import { Governors } from '../../src/governors/governors.ts';
import { tenantKey } from '../../src/governors/keys.ts';
import { createMemoryGovernorStores } from '../../src/governors/memory-stores.ts';

/**
 * Attack: pick a tenant or principal id containing the key separator (or a
 * brace, or a prototype name) so that your calls land in another tenant's or
 * principal's bucket: exhausting their limits, or escaping yours.
 */
const tricky = [
  'acme',
  'acme}',
  '{acme}',
  'acme:rate',
  'rate',
  'tenant',
  'a:b',
  'a',
  'b',
  ':',
  '',
  '%3A',
  '__proto__',
  'constructor',
  'x\ny',
  '*',
];

describe('governor key smuggling', () => {
  it('no two different (tenant, kind, parts) tuples share a key', () => {
    const seen = new Map<string, string>();
    for (const tenant of tricky) {
      for (const a of tricky) {
        for (const b of tricky) {
          for (const parts of [[a], [a, b]]) {
            const key = tenantKey(tenant, 'rate', ...parts);
            const tuple = JSON.stringify([tenant, parts]);
            const before = seen.get(key);
            if (before !== undefined && before !== tuple)
              throw new Error(`${tuple} and ${before} share the key ${key}`);
            seen.set(key, tuple);
          }
        }
      }
    }
    expect(seen.size).toBe(tricky.length * (tricky.length + tricky.length ** 2));
  });

  it('the tenant part is always one brace-delimited segment with no brace or colon inside', () => {
    for (const tenant of tricky) expect(tenantKey(tenant, 'spend')).toMatch(/^\{[^{}:]*\}:spend$/);
  });

  it("a tenant named like another tenant's key cannot drain that tenant's bucket", async () => {
    const governors = new Governors({
      stores: createMemoryGovernorStores(),
      config: {
        rateLimits: {
          principal: { enabled: false },
          tool: { enabled: false },
          tenant: { capacity: 2, refillPerSecond: 1 },
        },
        spend: { enabled: false },
        loopGuard: { enabled: false },
      },
    });
    const call = {
      principal: 'p',
      toolId: 'x.y',
      argsHash: 'sha256:00',
      cost: 1,
      nowMs: 1_800_000_000_000,
    };
    for (const tenant of ['acme}:rate:tenant', '{acme}', 'acme:rate', '__proto__', 'acme%7D']) {
      for (let i = 0; i < 2; i++) await governors.check({ ...call, tenant });
      await expect(governors.check({ ...call, tenant })).rejects.toMatchObject({
        code: 'rate_limited',
      });
    }
    await expect(governors.check({ ...call, tenant: 'acme' })).resolves.toBeUndefined();
    await expect(governors.check({ ...call, tenant: 'acme' })).resolves.toBeUndefined();
  });
});
