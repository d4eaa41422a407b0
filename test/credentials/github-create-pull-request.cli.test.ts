/**
 * The README's end-to-end exchange, on the real CLI: a high-risk
 * github.create_pull_request call, approved by a human, that posts to a fake
 * GitHub API on 127.0.0.1 with a credential the runner mints for the run and
 * adds at the egress boundary.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/claims/keys.ts';
import { runnerJwks } from '../../src/credentials/index.ts';
import { cliError, runCli, type CliResult } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { startFakeGithub, type FakeGithub } from './fake-github.ts';

const AUDIENCE = 'https://api.github.example';
const TOOL = 'github.create_pull_request';
let ws: Workspace;
let github: FakeGithub;
const outputs: CliResult[] = [];

async function cli(...args: string[]): Promise<CliResult> {
  const r = await runCli(args, { cwd: ws.dir, timeoutMs: 60_000 });
  outputs.push(r);
  return r;
}

beforeAll(async () => {
  github = await startFakeGithub(AUDIENCE);
  ws = await makeWorkspace({
    prefix: 'toolcage-github-',
    // What the operator adds to the config `toolcage init` wrote; unsafeAllowPrivateAddresses only because the fake API is on loopback.
    config: (text) => `${text}credentials:
  signingKey: keys/runner.private.jwk.json
  lanes:
    github:
      kind: minted
      audience: ${AUDIENCE}
      hosts: [{ host: 127.0.0.1, port: ${github.port}, scheme: http }]
      requiredScopes: [pr:create]
      scopes: [pr:create, pr:read]
egress:
  unsafeAllowPrivateAddresses: ["127.0.0.1/32"]
`,
  });
  const { privateJwk } = await generateSigningKey('EdDSA');
  writeFileSync(ws.path('keys', 'runner.private.jwk.json'), JSON.stringify(privateJwk), {
    mode: 0o600,
  });
  github.setJwks(runnerJwks(ws.reload()));
  // The operator points the tool at its API host (GitHub Enterprise style) and re-locks.
  const manifest = ws.path('tool-manifests', TOOL, 'manifest.yaml');
  writeFileSync(
    manifest,
    readFileSync(manifest, 'utf8').replace(
      '{ host: api.github.com, port: 443 }',
      `{ host: 127.0.0.1, port: ${github.port} }`,
    ),
  );
  await ws.relock();
  writeFileSync(
    ws.path('pr.json'),
    JSON.stringify({
      repo: 'acme/widgets',
      title: 'Fix the widget',
      head: 'fix-widget',
      base: 'main',
      apiUrl: github.origin,
    }),
  );
  writeFileSync(
    ws.path('other.json'),
    JSON.stringify({
      repo: 'acme/widgets',
      title: 'Delete everything',
      head: 'evil',
      base: 'main',
      apiUrl: github.origin,
    }),
  );
});

afterAll(async () => {
  await github?.close();
  ws?.cleanup();
});

async function approvedClaim(): Promise<void> {
  const approval = await cli(
    'broker',
    'approve',
    '--tool',
    TOOL,
    '--args',
    'pr.json',
    '--sub',
    'local-user',
  );
  expect(approval.code, approval.stderr).toBe(0);
  const issued = await cli(
    'broker',
    'issue-claim',
    '--tool',
    TOOL,
    '--ttl',
    '180',
    '--args',
    'pr.json',
    '--approval',
    approval.stdout.trim(),
    '--out',
    'claim.jwt',
  );
  expect(issued.code, issued.stderr).toBe(0);
}

describe('toolcage: github.create_pull_request end to end', () => {
  it('without an approval the broker refuses the high-risk claim', async () => {
    const r = await cli(
      'broker',
      'issue-claim',
      '--tool',
      TOOL,
      '--ttl',
      '180',
      '--args',
      'pr.json',
    );
    expect(r.code).not.toBe(0);
    expect(cliError(r).code).toBe('approval_required');
  }, 60_000);

  it('issue-claim → run gives result.pr_url; the same claim again is claim_replayed; other args are args_mismatch', async () => {
    await approvedClaim();
    const run = await cli('run', TOOL, '--claim', 'claim.jwt', '--args', 'pr.json');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      result: { pr_url: string; number: number };
      invocationId: string;
    };
    expect(out.result).toEqual({
      pr_url: 'https://github.example/acme/widgets/pull/42',
      number: 42,
    });

    // The downstream got a runner-minted token that verified, scoped to lane ∩ claim, for this subject and tenant.
    expect(github.verified).toHaveLength(1);
    const t = github.verified[0]!;
    expect(t).toMatchObject({
      iss: 'toolcage-runner',
      aud: AUDIENCE,
      sub: 'local-user',
      tenant: 'default',
      scope: 'pr:create',
      tool: TOOL,
    });
    // exp = the run's deadline (timeoutMs 10 s) + 5 s skew, from iat (whole seconds).
    expect(t.exp! - t.iat!).toBeGreaterThanOrEqual(15);
    expect(t.exp! - t.iat!).toBeLessThanOrEqual(16);

    const replay = await cli('run', TOOL, '--claim', 'claim.jwt', '--args', 'pr.json');
    expect(replay.code).not.toBe(0);
    expect(cliError(replay).code).toBe('claim_replayed');

    await approvedClaim();
    const mismatch = await cli('run', TOOL, '--claim', 'claim.jwt', '--args', 'other.json');
    expect(mismatch.code).not.toBe(0);
    expect(cliError(mismatch).code).toBe('args_mismatch');
    expect(github.seen).toHaveLength(1);
  }, 180_000);

  it('the audit log names the lane, and no output or log line of the whole exchange holds the credential', () => {
    const audit = readFileSync(ws.path('.toolcage', 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The run's line (approval decisions are audited too, under stage `approval.*`).
    const allowed = audit.filter(
      (e) =>
        e.outcome === 'allowed' &&
        e.toolId === TOOL &&
        !String(e.stage ?? '').startsWith('approval.'),
    );
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ credentialLanes: ['github'] });
    expect(github.tokens.length).toBeGreaterThan(0);
    const everything = [
      readFileSync(ws.path('.toolcage', 'audit.log'), 'utf8'),
      ...outputs.flatMap((o) => [o.stdout, o.stderr]),
    ].join('\n');
    for (const token of github.tokens) {
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(token.split('.')[2]);
    }
  });
});

describe('toolcage init workspace without the lane configured', () => {
  it('still starts, and the tool is refused with sandbox_unavailable naming the missing lane', async () => {
    const bare = await makeWorkspace({ prefix: 'toolcage-nolane-' });
    try {
      writeFileSync(
        bare.path('pr.json'),
        JSON.stringify({ repo: 'acme/widgets', title: 't', head: 'h', base: 'main' }),
      );
      const approval = await runCli(
        ['broker', 'approve', '--tool', TOOL, '--args', 'pr.json', '--sub', 'local-user'],
        { cwd: bare.dir },
      );
      const issued = await runCli(
        [
          'broker',
          'issue-claim',
          '--tool',
          TOOL,
          '--args',
          'pr.json',
          '--approval',
          approval.stdout.trim(),
          '--out',
          'claim.jwt',
        ],
        { cwd: bare.dir },
      );
      expect(issued.code, issued.stderr).toBe(0);
      const run = await runCli(['run', TOOL, '--claim', 'claim.jwt', '--args', 'pr.json'], {
        cwd: bare.dir,
      });
      expect(cliError(run)).toMatchObject({
        code: 'sandbox_unavailable',
        message: expect.stringContaining('credentials.lanes.github'),
      });
    } finally {
      bare.cleanup();
    }
  }, 120_000);
});
