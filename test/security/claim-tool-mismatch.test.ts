// Attack: use a valid claim minted for one tool (a harmless one) to call another.
import { it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, expectRefusal, useRunner } from '../helpers/runner.ts';

const s = useRunner();

it('refuses a claim minted for data.json_query when calling text.word_count, with tool_mismatch', async () => {
  const args = { text: 'a b' };
  const token = await forge(s.ws.brokerKey, {
    tool: 'data.json_query',
    args,
    scope: ['text:read', 'data:read'],
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'tool_mismatch',
    'The claim was minted for "data.json_query", not "text.word_count". Mint a claim for the tool you are calling.',
  );
  await expectBenignSucceeds(s.t);
});

it('refuses near-miss tool ids (case, prefix, trailing dot)', async () => {
  const args = { text: 'a b' };
  for (const tool of ['Text.word_count', 'text.word_coun', 'text.word_count.', 'text']) {
    const token = await forge(s.ws.brokerKey, { tool, args, scope: ['text:read'] });
    await expectRefusal(
      execute(s.t, 'text.word_count', args, token),
      'tool_mismatch',
      `The claim was minted for "${tool}", not "text.word_count". Mint a claim for the tool you are calling.`,
    );
  }
  await expectBenignSucceeds(s.t);
});

it('refuses a call for a tool outside the registry with tool_not_allowed, whatever the claim says', async () => {
  const args = { text: 'a b' };
  const token = await forge(s.ws.brokerKey, { tool: 'shell.exec', args, scope: ['text:read'] });
  await expectRefusal(
    execute(s.t, 'shell.exec', args, token),
    'tool_not_allowed',
    'Tool "shell.exec" is not in the registry allowlist.',
  );
  await expectRefusal(
    execute(s.t, '__proto__', args, token),
    'tool_not_allowed',
    /Tool "__proto__" is not in the registry allowlist/,
  );
  await expectBenignSucceeds(s.t);
});
