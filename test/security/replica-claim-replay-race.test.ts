// Attack: replay one claim 200 times at once, spread over two runner replicas behind a load balancer,
// hoping that each replica's own check lets one copy through. The jti is consumed once in the shared
// Redis (SET NX), so exactly one call runs, whichever replica wins.
import { expect, it } from 'vitest';
import { invoke, mint, outcome, useTwoReplicas } from '../replicas/helpers.ts';

const COPIES = 200;
const rep = useTwoReplicas('replica-replay-race');

it(`of ${COPIES} concurrent replays of one claim across both replicas, exactly one runs and ${COPIES - 1} get claim_replayed (409)`, async () => {
  const args = { text: 'one claim, many copies' };
  const { claim } = await mint(rep.broker, 'text.word_count', args);
  const replies = await Promise.all(
    Array.from({ length: COPIES }, (_, i) =>
      invoke((i % 2 === 0 ? rep.a : rep.b).url, 'text.word_count', args, claim),
    ),
  );
  const tally: Record<string, number> = {};
  for (const r of replies) {
    const o = outcome(r);
    const k = `${o.status} ${o.code ?? 'ok'}`;
    tally[k] = (tally[k] ?? 0) + 1;
  }
  expect(tally).toEqual({ '200 ok': 1, '409 claim_replayed': COPIES - 1 });
  // Both replicas took part in refusing: the win was not one replica's local decision.
  const refusedBy = new Set(replies.flatMap((r, i) => (r.status === 409 ? [i % 2] : [])));
  expect(refusedBy).toEqual(new Set([0, 1]));
});

it('a fresh claim still runs on either replica afterwards', async () => {
  for (const r of [rep.a, rep.b]) {
    const args = { text: `fresh on ${r.name}` };
    const { claim } = await mint(rep.broker, 'text.word_count', args);
    expect((await invoke(r.url, 'text.word_count', args, claim)).status).toBe(200);
  }
});
