// The draft 2020-12 meta-schema check compiled ahead of time (src/validation/json-schema-meta.generated.ts)
// is what scripts/gen-meta-validator.ts writes for the installed Ajv, and it refuses what Ajv's own
// check refused: a schema that breaks the meta-schema is a registry_invalid naming the problem.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { GENERATED, metaValidatorSource } from '../../scripts/gen-meta-validator.ts';
import { AJV_OPTIONS } from '../../src/validation/ajv-options.ts';
import { compileSchema } from '../../src/validation/json-schema.ts';

describe('the ahead-of-time meta-schema validator', () => {
  it('is what the generator writes for the installed Ajv (run `node scripts/gen-meta-validator.ts`)', () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(metaValidatorSource());
  });

  // Each breaks the 2020-12 meta-schema, not a strict-mode rule: only the meta-schema check refuses it.
  const broken: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'an unknown type name',
      { type: 'objec' },
      /data\/type must be equal to one of the allowed values/,
    ],
    ['a negative maxLength', { type: 'string', maxLength: -1 }, /data\/maxLength must be >= 0/],
    [
      'required that is not an array',
      { type: 'object', required: 'a' },
      /data\/required must be array/,
    ],
    [
      'a nested property schema that is not a schema',
      { type: 'object', properties: { a: 7 } },
      /data\/properties\/a must be object,boolean/,
    ],
  ];

  it.each(broken)('refuses %s, as Ajv compiling the meta-schema itself does', (_, schema, why) => {
    // Ajv's own check, the meta-schema compiled at run time: the reference the generated one must match.
    const reference = new Ajv2020({ ...AJV_OPTIONS });
    expect(() => reference.compile(structuredClone(schema))).toThrow(why);
    expect(() => compileSchema(structuredClone(schema), 'x/manifest.yaml: inputSchema')).toThrow(
      expect.objectContaining({
        code: 'registry_invalid',
        message: expect.stringMatching(
          new RegExp(
            `^x/manifest\\.yaml: inputSchema: not a valid JSON Schema: schema is invalid: .*${why.source}`,
          ),
        ),
      }),
    );
  });

  it('accepts a valid schema using $defs, $ref, patternProperties and formats', () => {
    const v = compileSchema(
      {
        type: 'object',
        $defs: { name: { type: 'string', minLength: 1 } },
        properties: { n: { $ref: '#/$defs/name' }, at: { type: 'string', format: 'date-time' } },
        patternProperties: { '^x-': { type: 'number' } },
        additionalProperties: false,
      },
      'test',
    );
    expect(v({ n: 'a', at: '2030-01-01T00:00:00Z', 'x-1': 2 }).ok).toBe(true);
    expect(v({ n: '', 'x-1': 'no' }).ok).toBe(false);
  });

  it('leaves a schema naming another dialect to Ajv, which refuses a dialect it does not know', () => {
    expect(() =>
      compileSchema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'string' }, 'test'),
    ).toThrow(expect.objectContaining({ code: 'registry_invalid' }));
  });
});
