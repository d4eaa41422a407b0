// Attack: a valid claim for the right tool whose scope lacks what the manifest requires (a claim minted
// for a read-only role, or with the scope list emptied).
import { expect, it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };

it.each([[[]], [['data:read']], [['text:*']], [['TEXT:READ']], [['text:read ']]])(
  'refuses scope %j for text.word_count (needs text:read) with scope_insufficient',
  async (scope) => {
    const token = await forge(s.ws.brokerKey, { tool: 'text.word_count', args, scope });
    const e = await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'scope_insufficient',
      'The claim scope lacks text:read, which text.word_count requires.',
    );
    expect(e.details).toEqual({ missing: ['text:read'] });
    await expectBenignSucceeds(s.t);
  },
);

it('accepts a scope that contains the required one among others', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['data:read', 'text:read'],
  });
  await expect(execute(s.t, 'text.word_count', args, token)).resolves.toMatchObject({
    result: { words: 2 },
  });
});
