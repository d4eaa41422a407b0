// The Cedar schema and context are built from the tool's input schema only: JSON types map to
// Cedar types, unknown keys and off-type values are dropped, and names beginning with "__" never
// reach Cedar (where `__entity`/`__extn` would turn an argument into an entity or extension value).
import { expect, it } from 'vitest';
import { cedarTypeOf, project } from '../../src/policy/cedar-schema.ts';

const schema = {
  type: 'object',
  properties: {
    repo: { type: 'string' },
    pull: { type: 'integer' },
    ratio: { type: 'number' },
    draft: { type: 'boolean' },
    labels: { type: 'array', items: { type: 'string' } },
    meta: { type: 'object', properties: { path: { type: 'string' } } },
    __entity: { type: 'object' },
    'has-dash': { type: 'string' },
  },
  required: ['repo', 'pull'],
};

it('maps JSON Schema to Cedar types, optional where not required, skipping what Cedar cannot type', () => {
  expect(cedarTypeOf(schema)).toEqual({
    type: 'Record',
    attributes: {
      repo: { type: 'String' },
      pull: { type: 'Long' },
      draft: { type: 'Boolean', required: false },
      labels: { type: 'Set', element: { type: 'String' }, required: false },
      meta: {
        type: 'Record',
        attributes: { path: { type: 'String', required: false } },
        required: false,
      },
    },
  });
});

it('projects arguments onto the type: entity and extension escapes never pass', () => {
  const t = cedarTypeOf(schema)!;
  expect(
    project(t, {
      repo: { __entity: { type: 'User', id: 'admin' } },
      pull: 2 ** 60,
      ratio: 0.5,
      draft: true,
      labels: ['a', { __extn: { fn: 'ip', arg: '10.0.0.1' } }],
      meta: { path: 'docs/a', __entity: { type: 'User', id: 'admin' } },
      __entity: { type: 'User', id: 'admin' },
      extra: 'x',
    }),
  ).toEqual({ draft: true, meta: { path: 'docs/a' } });
});
