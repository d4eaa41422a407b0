/**
 * Attack: an allowed host answers with a redirect to a host off the list
 * (or to the metadata address), hoping the boundary follows it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';
import { startKit, type Kit } from '../egress/kit.ts';

let allowed: LoopbackServer;
let target: LoopbackServer;
let kit: Kit;

beforeAll(async () => {
  target = await startLoopbackServer();
  allowed = await startLoopbackServer((req, res) => {
    res.statusCode = 302;
    res.setHeader(
      'location',
      req.url === '/meta' ? 'http://169.254.169.254/latest/meta-data/' : `${target.origin}/landed`,
    );
    res.end();
  });
  kit = await startKit({
    config: `egress:\n  unsafeAllowPrivateAddresses: ["127.0.0.1/32"]\n`,
    tools: [
      {
        id: 'test.redirect',
        egress: [{ host: '127.0.0.1', port: allowed.port }],
        source: `export default async function run(input, ctx) {
        const r = await ctx.fetch(input.url);
        const out = { status: r.status, location: r.headers.get('location'), redirected: r.redirected };
        try { await ctx.fetch(out.location); out.follow = 'sent'; } catch (e) { out.follow = e.kind; }
        return out;
      }`,
      },
    ],
  });
});
afterAll(async () => {
  await kit?.close();
  await allowed?.close();
  await target?.close();
});

it('returns the 3xx to the tool as it is and never follows it; following it by hand is refused by the allowlist', async () => {
  const out = await kit.call('test.redirect', { url: `${allowed.origin}/go` });
  expect(out).toEqual({
    status: 302,
    location: `${target.origin}/landed`,
    redirected: false,
    follow: 'not_allowed',
  });
  expect(target.seen).toHaveLength(0);
});

it('a redirect to the metadata address is not followed either', async () => {
  const out = await kit.call('test.redirect', { url: `${allowed.origin}/meta` });
  expect(out).toMatchObject({
    status: 302,
    location: 'http://169.254.169.254/latest/meta-data/',
    follow: 'not_allowed',
  });
});
