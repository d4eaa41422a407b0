/**
 * Issue 13's speed rows, each against its own baseline in the same run:
 * - mint latency with Cedar conditions against the same broker without them
 *   (target ≤ 1.5x);
 * - the library call of a tool with a scope template against the same tool
 *   without one (target ≤ 1.05x): the runner's only policy work is re-rendering.
 *
 *   node --no-node-snapshot bench/policy.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { createRunner } from '../src/runtime/runner.ts';
import { createBrokerRuntime } from '../src/runtime/broker.ts';
import { NullAuditSink } from '../src/audit/audit.ts';
import { loadSigningKey } from '../src/claims/keys.ts';
import { writeSignedLock } from '../src/registry/lock-build.ts';
import { Broker } from '../src/broker/broker.ts';
import { ConditionEngine } from '../src/policy/conditions.ts';
import { benchWorkspace } from './library.ts';
import { formatRow, measureInterleaved, type Figures } from './stats.ts';

const CEDAR = `@id("base") permit(principal, action in Action::"call", resource);
@id("docs-only") forbid(principal, action == Action::"call:bench.count_scoped", resource)
  unless { context.args.doc like "doc-*" };
@id("quarantine") forbid(principal, action, resource) when { context.session == "quarantined" };
@id("business-hours") forbid(principal, action, resource) when { resource.risk == "high" && context.hourUtc < 6 };
`;

/**
 * The same set plus a policy that reads an argument unique to each call, so no
 * request repeats: the JavaScript evaluator decides every one (it has no memo;
 * it costs less than a memo key).
 */
const CEDAR_UNIQUE = `${CEDAR}@id("doc-read") forbid(principal, action == Action::"call:bench.count", resource)
  when { context.args.doc like "secret-*" };
`;

/**
 * And with one policy outside the JavaScript evaluator's subset (an extension
 * function), so that cedar-wasm decides every request, none repeated: the
 * fallback's cost, for reference (no target).
 */
const CEDAR_WASM = `${CEDAR_UNIQUE}@id("decimal") forbid(principal, action == Action::"call:bench.count", resource)
  when { context.args.doc like "x*" && decimal("1.5").lessThan(decimal("1.0")) };
`;

const SOURCE =
  'export default function run(input) { return { words: input.text.split(/\\s+/).filter(Boolean).length }; }\n';

function addTool(manifests: string, id: string, templated: boolean): void {
  const dir = join(manifests, id);
  mkdirSync(dir, { recursive: true });
  const manifest = {
    id,
    version: '1.0.0',
    description: `Bench tool ${id}.`,
    runtime: 'js',
    entry: 'tool.js',
    inputSchema: {
      type: 'object',
      properties: { doc: { type: 'string' }, text: { type: 'string' } },
      required: ['doc', 'text'],
      additionalProperties: false,
    },
    outputSchema: { type: 'object', properties: { words: { type: 'integer' } } },
    limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 4096 },
    scopes: ['text:read'],
    ...(templated ? { scopeTemplates: ['doc:{/doc}'] } : {}),
    risk: 'low',
  };
  writeFileSync(join(dir, 'manifest.yaml'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'tool.js'), SOURCE);
}

export interface PolicyFigures {
  mintPlain: Figures;
  mintConditions: Figures;
  /** Every request new (the JavaScript evaluator decides). */
  mintUnique: Figures;
  /** Every request new, a policy set only cedar-wasm can decide (no memo hit). */
  mintWasm: Figures;
  callPlain: Figures;
  callTemplated: Figures;
}

export async function benchPolicy(opts: { n?: number } = {}): Promise<PolicyFigures> {
  const n = opts.n ?? 2000;
  const ws = await benchWorkspace();
  const manifests = join(ws.dir, 'tool-manifests');
  addTool(manifests, 'bench.count', false);
  addTool(manifests, 'bench.count_scoped', true);
  await writeSignedLock(
    manifests,
    await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json')),
  );
  const loaded = loadConfig(ws.configFile);
  const runner = await createRunner(loaded, { backends: ['js'], audit: new NullAuditSink() });
  const rt = await createBrokerRuntime(loaded, {
    stores: runner.stores,
    registry: runner.registry,
  });
  const brokerKey = await loadSigningKey(join(ws.dir, 'keys', 'broker.private.jwk.json'));
  // Every broker is built alike (the runtime's audit sink and session store), differing only in
  // its conditions, so that the ratio is Cedar's cost and nothing else.
  const brokerWith = (text: string | undefined) => {
    const conditions =
      text === undefined ? undefined : ConditionEngine.fromText(text, 'bench.cedar');
    const problems =
      conditions?.check(
        runner
          .registry()
          .list()
          .map((t) => t.manifest),
      ) ?? [];
    if (problems.length > 0) throw new Error(JSON.stringify(problems));
    return new Broker({
      issuer: loaded.config.broker.issuer,
      audience: loaded.config.runner.audience,
      keys: [brokerKey],
      publicJwks: [],
      policy: rt.policy,
      registry: runner.registry,
      approvals: runner.stores.approvals,
      sessions: runner.stores.sessions,
      audit: rt.audit,
      conditions,
    });
  };
  const plain = brokerWith(undefined);
  const withConditions = brokerWith(CEDAR);
  const withUnique = brokerWith(CEDAR_UNIQUE);
  const withWasm = brokerWith(CEDAR_WASM);
  const args = (i: number) => ({ doc: `doc-${i}`, text: `one two three ${i}` });
  const req = (tool: string, i: number) => ({
    tool,
    args: args(i),
    sub: 'bench',
    roles: ['admin'],
    tenant: 'bench',
    session: 'bench-session',
  });
  try {
    const mint = await measureInterleaved(
      {
        'mint, roles only': (i) => plain.issueClaim(req('bench.count', i)),
        'mint, roles + Cedar conditions': (i) => withConditions.issueClaim(req('bench.count', i)),
        'mint, roles + Cedar, each request new': (i) =>
          withUnique.issueClaim(req('bench.count', i)),
        'mint, roles + Cedar in cedar-wasm, each new': (i) =>
          withWasm.issueClaim(req('bench.count', i)),
      },
      { n, warmup: 100 },
    );
    const total = n + 100;
    const claims: Record<string, string[]> = { 'bench.count': [], 'bench.count_scoped': [] };
    for (const tool of Object.keys(claims))
      for (let i = 0; i < total; i++)
        claims[tool]!.push(
          (await rt.broker.issueClaim({ ...req(tool, i), session: undefined })).claim,
        );
    const call = (tool: string) => (i: number) =>
      runner.executor.execute({
        toolId: tool,
        args: args(i),
        claim: claims[tool]![i]!,
        requestId: `bench-${tool}-${i}`,
      });
    const calls = await measureInterleaved(
      {
        'library call, no scope template': call('bench.count'),
        'library call, scope template': call('bench.count_scoped'),
      },
      { n, warmup: 100 },
    );
    return {
      mintPlain: mint['mint, roles only']!,
      mintConditions: mint['mint, roles + Cedar conditions']!,
      mintUnique: mint['mint, roles + Cedar, each request new']!,
      mintWasm: mint['mint, roles + Cedar in cedar-wasm, each new']!,
      callPlain: calls['library call, no scope template']!,
      callTemplated: calls['library call, scope template']!,
    };
  } finally {
    await rt.close();
    await runner.close();
  }
}

export function reportPolicy(r: PolicyFigures, out: (line: string) => void): void {
  const verdict = (ok: boolean) => (ok ? 'target met' : 'target MISSED');
  out(formatRow(r.mintPlain));
  out(formatRow(r.mintConditions, r.mintPlain, 'roles only'));
  const m = r.mintConditions.p50 / r.mintPlain.p50;
  out(
    `  mint p50 with conditions / without = ${m.toFixed(2)}x (target ≤ 1.5x: ${verdict(m <= 1.5)})`,
  );
  out(formatRow(r.mintUnique, r.mintPlain, 'roles only'));
  const u = r.mintUnique.p50 / r.mintPlain.p50;
  out(
    `  mint p50 with conditions, no request repeated / without = ${u.toFixed(2)}x (target ≤ 1.5x: ${verdict(u <= 1.5)})`,
  );
  out(formatRow(r.mintWasm, r.mintPlain, 'roles only'));
  out(
    `  mint p50 with conditions cedar-wasm decides, no request repeated / without = ${(r.mintWasm.p50 / r.mintPlain.p50).toFixed(2)}x (fallback, for reference)`,
  );
  out(formatRow(r.callPlain));
  out(formatRow(r.callTemplated, r.callPlain, 'no template'));
  const c = r.callTemplated.p50 / r.callPlain.p50;
  out(
    `  call p50 with a scope template / without = ${c.toFixed(2)}x (target ≤ 1.05x: ${verdict(c <= 1.05)})`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  reportPolicy(await benchPolicy({ n: Number(process.env.N ?? 2000) }), (l) => console.log(l));
}
