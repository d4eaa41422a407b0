// Not an attack but its mirror: arguments that differ only in key order or number spelling are the same
// envelope under RFC 8785, so a claim minted for one is ACCEPTED for the other (no false args_mismatch).
import { expect, it } from 'vitest';
import { argsHash } from '../../src/util/hash.ts';
import { forge } from '../helpers/forge.ts';
import { execute, useRunner } from '../helpers/runner.ts';

const s = useRunner();

it('accepts arguments with reordered keys and 1.0 / 1e0 for 1, as received over the wire', async () => {
  const minted = JSON.parse(
    '{"document":{"a":1,"b":{"x":10,"y":[1,2]}},"pointers":["/a","/b/x"]}',
  ) as unknown;
  const sent = JSON.parse(
    '{"pointers":["/a","/b/x"],"document":{"b":{"y":[1.0,2e0],"x":1.0e1},"a":1.0}}',
  ) as unknown;
  expect(argsHash(sent)).toBe(argsHash(minted));
  const token = await forge(s.ws.brokerKey, {
    tool: 'data.json_query',
    args: minted,
    scope: ['data:read'],
  });
  const out = await execute(s.t, 'data.json_query', sent, token);
  expect(out.result).toEqual({
    results: [
      { pointer: '/a', found: true, value: 1 },
      { pointer: '/b/x', found: true, value: 10 },
    ],
  });
});

it('accepts top-level key order swapped for text.word_count', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args: { text: 'x y z' },
    scope: ['text:read'],
  });
  await expect(
    execute(s.t, 'text.word_count', JSON.parse('{ "text" : "x y z" }'), token),
  ).resolves.toMatchObject({ result: { words: 3 } });
});
