// The validation pieces on their own: shape caps (iterative, no recursion), Ajv strictness and failing
// paths, and the leak scanner's encodings.
import { describe, expect, it } from 'vitest';
import { checkJsonShape, DEFAULT_INPUT_LIMITS } from '../../src/validation/json-limits.ts';
import { compileSchema } from '../../src/validation/json-schema.ts';
import { LeakScanner } from '../../src/validation/leak-scan.ts';

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe('checkJsonShape', () => {
  it('refuses 10,000 levels of nesting quickly, without recursion', () => {
    const t0 = performance.now();
    expect(checkJsonShape(nested(10_000), DEFAULT_INPUT_LIMITS, 10)).toBe(
      'nest deeper than 64 levels',
    );
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('refuses 1,000,000 levels too (a stack-overflow attempt on any recursive walker)', () => {
    expect(checkJsonShape(nested(1_000_000), DEFAULT_INPUT_LIMITS, 10)).toBe(
      'nest deeper than 64 levels',
    );
  });

  it('accepts exactly the maximum depth and refuses one more', () => {
    const limits = { maxDepth: 3, maxBytes: 1000 };
    expect(checkJsonShape({ a: { b: { c: 1 } } }, limits, 10)).toBeUndefined();
    expect(checkJsonShape({ a: { b: { c: {} } } }, limits, 10)).toBe('nest deeper than 3 levels');
  });

  it('refuses a value above the byte cap before walking it', () => {
    expect(checkJsonShape({}, { maxDepth: 64, maxBytes: 100 }, 101)).toBe(
      'are 101 bytes, above the 100-byte cap',
    );
  });
});

describe('compileSchema', () => {
  it('lists every failing path (allErrors), as instance paths', () => {
    const v = compileSchema(
      {
        type: 'object',
        properties: {
          a: { type: 'string' },
          b: { type: 'array', items: { type: 'integer' } },
          c: { type: 'string' },
        },
        required: ['a', 'c'],
        additionalProperties: false,
      },
      'test',
    );
    const r = v({ a: 1, b: [1, 'x'], d: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        '/a must be string',
        '/b/1 must be integer',
        "/ must have required property 'c'",
        '/ must NOT have additional properties',
      ]),
    );
  });

  it('refuses a schema keyword typo (strict mode) with registry_invalid', () => {
    expect(() =>
      compileSchema(
        { type: 'object', properties: { a: { type: 'string', maxLenght: 3 } } },
        'x/manifest.yaml: inputSchema',
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'registry_invalid',
        message: expect.stringMatching(
          /^x\/manifest\.yaml: inputSchema: not a valid JSON Schema: .*maxLenght/,
        ),
      }),
    );
  });

  it('enforces formats', () => {
    const v = compileSchema(
      { type: 'object', properties: { at: { type: 'string', format: 'date-time' } } },
      'test',
    );
    expect(v({ at: '2030-01-01T00:00:00Z' }).ok).toBe(true);
    expect(v({ at: 'tomorrow' }).ok).toBe(false);
  });
});

describe('LeakScanner', () => {
  const secret = 'ghp_S3cr3tT0k3nValue42';
  const scanner = new LeakScanner([secret]);

  it.each([
    ['raw', secret],
    ['JSON-escaped inside a string', JSON.stringify({ t: secret })],
    ['base64', Buffer.from(secret).toString('base64')],
    ['base64 at another alignment', Buffer.from(`x${secret}`).toString('base64')],
    ['base64url', Buffer.from(`xy${secret}`).toString('base64url')],
    ['hex upper case', Buffer.from(secret).toString('hex').toUpperCase()],
    ['URL-encoded', encodeURIComponent(`a ${secret}/`)],
  ])('finds the secret %s', (_how, text) => {
    expect(scanner.found(`prefix ${text} suffix`)).toBe(true);
  });

  it('does not flag unrelated text, and ignores secrets too short to scan', () => {
    expect(scanner.found('nothing to see here')).toBe(false);
    expect(new LeakScanner(['abc']).empty).toBe(true);
  });
});
