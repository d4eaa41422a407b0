// Attack: make the audit log carry what it must never hold: the raw claim (a bearer credential until it
// expires) and argument values (user data, maybe secrets). Every decision, allowed or refused, writes
// exactly one line with the contract's fields, and no line contains the token or any argument value;
// asserted over the in-memory sink and over the file the CLI writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/audit.ts';
import { runCli } from '../helpers/cli.ts';
import { flipSignatureByte, forge } from '../helpers/forge.ts';
import { brokerFor, execute, patchArgs, useRunner } from '../helpers/runner.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

const SECRET_TEXT = `hunter2-${CANARY_MARK}-ARGUMENT-VALUE-7f3a`;
const SECRET_NUMBER = 918273645546372;
const CONTRACT_FIELDS = [
  'requestId',
  'jti',
  'subject',
  'tenant',
  'toolId',
  'toolVersion',
  'manifestSha256',
  'argsHash',
  'scope',
  'limits',
  'durationMs',
  'outcome',
] as const;

/** Every fragment of a token that would let someone reuse or reconstruct it. */
function tokenFragments(token: string): string[] {
  const [h, p, sig] = token.split('.') as [string, string, string];
  return [token, p, sig, `${h}.${p}`];
}

function expectClean(line: string, tokens: string[]): void {
  expect(line).not.toContain(SECRET_TEXT);
  expect(line).not.toContain(String(SECRET_NUMBER));
  for (const t of tokens) for (const f of tokenFragments(t)) expect(line).not.toContain(f);
}

describe('in memory, through the executor', () => {
  const s = useRunner();

  it('writes exactly one line per decision with the contract fields, and none carries the claim or an argument value', async () => {
    const args = { text: `${SECRET_TEXT} ${SECRET_NUMBER}` };
    const good = await forge(s.ws.brokerKey, {
      tool: 'text.word_count',
      args,
      scope: ['text:read'],
    });
    const broker = await brokerFor(s.t, s.ws);
    const pargs = { ...patchArgs(SECRET_TEXT), files: { 'a.txt': `hello ${SECRET_NUMBER}` } };
    const approval = await broker.recordApproval({
      tool: 'repo.apply_patch',
      args: pargs,
      sub: 'local-user',
      tenant: 'default',
      status: 'approved',
      decidedBy: 'reviewer',
    });
    const high = (
      await broker.issueClaim({
        tool: 'repo.apply_patch',
        args: pargs,
        sub: 'local-user',
        roles: ['admin'],
        tenant: 'default',
        approvalId: approval.id,
      })
    ).claim;
    const calls: Array<[string, unknown, string | undefined]> = [
      ['text.word_count', args, good], // allowed
      ['text.word_count', args, good], // claim_replayed
      [
        'text.word_count',
        { text: SECRET_TEXT },
        await forge(s.ws.brokerKey, { tool: 'text.word_count', args, scope: ['text:read'] }),
      ], // args_mismatch
      [
        'text.word_count',
        args,
        flipSignatureByte(
          await forge(s.ws.brokerKey, { tool: 'text.word_count', args, scope: ['text:read'] }),
        ),
      ], // signature
      ['text.word_count', args, undefined], // claim_missing
      [
        'text.word_count',
        { text: 7, secret: SECRET_TEXT },
        await forge(s.ws.brokerKey, {
          tool: 'text.word_count',
          args: { text: 7, secret: SECRET_TEXT },
          scope: ['text:read'],
        }),
      ], // input_invalid
      ['no.such_tool', args, good], // tool_not_allowed
      ['repo.apply_patch', pargs, high], // allowed, with approval
    ];
    const tokens = calls.flatMap(([, , c]) => (c ? [c] : []));
    const before = s.t.audit.events.length;
    const outcomes: string[] = [];
    for (const [tool, a, claim] of calls) {
      outcomes.push(
        await execute(s.t, tool, a, claim).then(
          () => 'allowed',
          (e: { code: string }) => e.code,
        ),
      );
    }
    expect(outcomes).toEqual([
      'allowed',
      'claim_replayed',
      'args_mismatch',
      'claim_signature_invalid',
      'claim_missing',
      'input_invalid',
      'tool_not_allowed',
      'allowed',
    ]);
    const events = s.t.audit.events.slice(before);
    expect(events).toHaveLength(calls.length);
    expect(events.map((e) => e.errorCode ?? e.outcome)).toEqual(outcomes);
    for (const e of events) expectClean(JSON.stringify(e), tokens);

    const allowed = events[0]!;
    for (const f of CONTRACT_FIELDS) expect(allowed, f).toHaveProperty(f);
    expect(allowed).toMatchObject({
      backend: 'js',
      outcome: 'allowed',
      toolId: 'text.word_count',
      toolVersion: '1.0.0',
      scope: ['text:read'],
      limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 },
    });
    expect(allowed.argsHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events[7]).toMatchObject({
      outcome: 'allowed',
      approvalId: approval.id,
      toolId: 'repo.apply_patch',
      backend: 'js',
    });
    const refused: AuditEvent = events[2]!;
    for (const f of CONTRACT_FIELDS) expect(refused, f).toHaveProperty(f);
    expect(refused).toMatchObject({ outcome: 'refused', errorCode: 'args_mismatch' });
    expect(events[4]).toMatchObject({
      outcome: 'refused',
      errorCode: 'claim_missing',
      toolId: 'text.word_count',
      requestId: expect.any(String),
    });
  });
});

describe('in the file the CLI writes', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await makeWorkspace();
  });
  afterAll(() => ws.cleanup());

  it('one JSON line per CLI decision with time and the contract fields, no claim, no argument value', async () => {
    const args = { text: `${SECRET_TEXT} ${SECRET_NUMBER}` };
    writeFileSync(ws.path('args.json'), JSON.stringify(args));
    writeFileSync(ws.path('other.json'), JSON.stringify({ text: SECRET_TEXT }));
    const token = await forge(ws.brokerKey, {
      tool: 'text.word_count',
      args,
      scope: ['text:read'],
    });
    const token2 = await forge(ws.brokerKey, {
      tool: 'text.word_count',
      args,
      scope: ['text:read'],
    });
    writeFileSync(ws.path('c1.jwt'), token);
    writeFileSync(ws.path('c2.jwt'), token2);
    const run = (claim: string, a: string) =>
      runCli(['run', 'text.word_count', '--claim', claim, '--args', a], { cwd: ws.dir });
    expect((await run('c1.jwt', 'args.json')).code).toBe(0);
    expect((await run('c1.jwt', 'args.json')).code).toBe(2); // replay
    expect((await run('c2.jwt', 'other.json')).code).toBe(2); // args_mismatch
    // A high-risk call's CLI approval and mint, with the secret in its arguments.
    const patch = { ...patchArgs(SECRET_TEXT), files: { 'a.txt': `x ${SECRET_NUMBER}` } };
    writeFileSync(ws.path('patch.json'), JSON.stringify(patch));
    const approved = await runCli(
      [
        'broker',
        'approve',
        '--tool',
        'repo.apply_patch',
        '--args',
        'patch.json',
        '--sub',
        'local-user',
      ],
      { cwd: ws.dir },
    );
    expect(approved.code).toBe(0);
    const minted = await runCli(
      [
        'broker',
        'issue-claim',
        '--tool',
        'repo.apply_patch',
        '--args',
        'patch.json',
        '--approval',
        approved.stdout.trim(),
      ],
      { cwd: ws.dir },
    );
    expect(minted.code).toBe(0);
    const all = readFileSync(ws.path('.toolcage', 'audit.log'), 'utf8').trim().split('\n');
    // Every line on the trail (decisions and checkpoints) is clean, the minted claim included.
    for (const line of all) expectClean(line, [token, token2, minted.stdout.trim()]);
    const lines = all.filter((l) => (JSON.parse(l) as { kind: string }).kind === 'call');
    expect(lines).toHaveLength(3);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.errorCode ?? e.outcome)).toEqual([
      'allowed',
      'claim_replayed',
      'args_mismatch',
    ]);
    for (const [i, e] of events.entries()) {
      expectClean(lines[i]!, [token, token2]);
      expect(new Date(e.time as string).toISOString()).toBe(e.time);
      for (const f of CONTRACT_FIELDS) expect(e, f).toHaveProperty(f);
    }
    expect(events[0]).toMatchObject({ backend: 'js', kind: 'call', level: 'info' });
    expect(events[1]).toMatchObject({ level: 'warn' }); // a replay looks like an attack
    const kinds = all.map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(kinds).toContain('approval_decided');
    expect(kinds).toContain('claim_minted');
  }, 120_000);
});
