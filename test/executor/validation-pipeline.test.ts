// Validation in the pipeline, with real tools in isolated-vm: input_invalid lists the failing paths and
// nothing runs; deeply nested input is refused quickly without a stack overflow; output that breaks the
// output schema, that is too large, or that is not JSON is withheld. After each, a benign call works.
import { expect, it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';
import { addTool } from '../helpers/workspace.ts';

const s = useRunner(async (ws) => {
  addTool(ws, {
    id: 'test.bad_output',
    source:
      'export default function run(input) { return input.mode === "extra" ? { words: 1, secret: "x" } : { words: "many" }; }',
    outputSchema: {
      type: 'object',
      properties: { words: { type: 'integer' } },
      required: ['words'],
      additionalProperties: false,
    },
  });
  addTool(ws, {
    id: 'test.big_output',
    source: 'export default function run(input) { return { blob: "x".repeat(input.n) }; }',
    limits: { maxOutputBytes: 1024 },
  });
  addTool(ws, {
    id: 'test.ran',
    source: 'export default function run() { return { ran: true }; }',
    inputSchema: {
      type: 'object',
      properties: { n: { type: 'integer', maximum: 10 } },
      required: ['n'],
      additionalProperties: false,
    },
  });
  await ws.relock();
});

const call = async (tool: string, args: unknown, scope = ['test:run', 'text:read', 'data:read']) =>
  execute(s.t, tool, args, await forge(s.ws.brokerKey, { tool, args, scope }));

it('input_invalid lists each failing path, and the tool does not run', async () => {
  const e = await expectRefusal(
    call('data.json_query', { document: {}, pointers: ['no-slash', 7], extra: 1 }),
    'input_invalid',
    /^The arguments do not match data\.json_query's input schema: /,
  );
  expect(e.status).toBe(422);
  expect(e.details!.errors).toEqual(
    expect.arrayContaining([
      '/ must NOT have additional properties',
      '/pointers/0 must match pattern "^(/.*)?$"',
      '/pointers/1 must be string',
    ]),
  );
  expect(e.message).toContain('/pointers/1 must be string');
  expect(s.t.audit.events.at(-1)).toMatchObject({ errorCode: 'input_invalid', outcome: 'refused' });
  expect(s.t.audit.events.at(-1)).toMatchObject({
    stage: 'validate_input',
    errorCode: 'input_invalid',
  });
  await expectBenignSucceeds(s.t);
});

it('input_invalid for a missing required field and a value above its maximum', async () => {
  const e = await expectRefusal(call('test.ran', { n: 11 }), 'input_invalid', /\/n must be <= 10/);
  expect(e.details!.errors).toEqual(['/n must be <= 10']);
  await expectRefusal(call('test.ran', {}), 'input_invalid', /must have required property 'n'/);
  await expectBenignSucceeds(s.t);
});

it('refuses input nested 10,000 levels deep quickly, without a stack overflow', async () => {
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  const args = { document: deep, pointers: ['/0'] };
  const t0 = performance.now();
  await expectRefusal(
    call('data.json_query', args),
    'input_invalid',
    'The arguments nest deeper than 64 levels.',
  );
  expect(performance.now() - t0).toBeLessThan(2000);
  await expectBenignSucceeds(s.t);
});

it('survives input nested 200,000 levels deep under a claim for other args: refused, runner intact', async () => {
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const token = await forge(s.ws.brokerKey, {
    tool: 'data.json_query',
    args: { document: 1, pointers: [''] },
    scope: ['data:read'],
  });
  await expectRefusal(
    execute(s.t, 'data.json_query', { document: deep, pointers: ['/0'] }, token),
    'args_mismatch',
    /do not match the args_hash/,
  );
  await expectBenignSucceeds(s.t);
});

it('refuses input above the 1 MiB byte cap', async () => {
  await expectRefusal(
    call('text.word_count', { text: 'x'.repeat(1024 * 1024 + 1) }),
    'input_invalid',
    /^The arguments are \d+ bytes, above the 1048576-byte cap\.$/,
  );
  await expectBenignSucceeds(s.t);
});

it('output_invalid: output that breaks the output schema is withheld', async () => {
  const e = await expectRefusal(
    call('test.bad_output', { mode: 'type' }),
    'output_invalid',
    'test.bad_output returned output that does not match its output schema (/words must be integer); it was withheld.',
  );
  expect(e.status).toBe(502);
  await expectRefusal(
    call('test.bad_output', { mode: 'extra' }),
    'output_invalid',
    /must NOT have additional properties\); it was withheld\.$/,
  );
  expect(s.t.audit.events.at(-1)).toMatchObject({
    errorCode: 'output_invalid',
    outcome: 'failed',
    backend: 'js',
  });
  await expectBenignSucceeds(s.t);
});

it('output_too_large: output above maxOutputBytes is withheld', async () => {
  await expect(call('test.big_output', { n: 900 })).resolves.toMatchObject({
    result: { blob: 'x'.repeat(900) },
  });
  const e = await expectRefusal(
    call('test.big_output', { n: 5000 }),
    'output_too_large',
    'The tool test.big_output produced more than 1024 bytes of output; it was withheld.',
  );
  expect(e.status).toBe(502);
  await expectBenignSucceeds(s.t);
});
