// The README's recipe for a tool with npm dependencies: bundle it into one ES module with esbuild
// (format esm, platform neutral). The bundle locks and runs; a bundle that left an import behind is
// refused by `registry lock`, naming the import.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliError, runCli } from '../helpers/cli.ts';
import { addTool, makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(() => ws.cleanup());

const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));
const SOURCE = `import canonicalize from 'canonicalize';
export default function run(input) {
  return { canonical: canonicalize(input.value) };
}
`;

async function bundle(folder: string, external: string[] = []): Promise<void> {
  mkdirSync(`${ws.dir}/src`, { recursive: true });
  writeFileSync(`${ws.dir}/src/tool.js`, SOURCE);
  await build({
    entryPoints: [`${ws.dir}/src/tool.js`],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    nodePaths: [nodeModules],
    external,
    outfile: `${folder}/tool.js`,
    logLevel: 'silent',
  });
}

it('an esbuild bundle of a tool with an npm dependency locks and runs', async () => {
  const folder = addTool(ws, { id: 'acme.canonical', source: '' });
  await bundle(folder);
  const lock = await runCli(['registry', 'lock'], { cwd: ws.dir });
  expect(lock.code, lock.stderr).toBe(0);
  writeFileSync(ws.path('args.json'), JSON.stringify({ value: { b: 1, a: [2, 1.0] } }));
  const call = await runCli(['dev', 'call', 'acme.canonical', '--args', 'args.json'], {
    cwd: ws.dir,
    timeoutMs: 60_000,
  });
  expect(call.code, call.stderr).toBe(0);
  expect(JSON.parse(call.stdout)).toMatchObject({ result: { canonical: '{"a":[2,1],"b":1}' } });
}, 120_000);

it('a bundle that kept the dependency external is refused at lock, naming the import', async () => {
  const folder = addTool(ws, { id: 'acme.unbundled', source: '' });
  await bundle(folder, ['canonicalize']);
  const r = await runCli(['registry', 'lock'], { cwd: ws.dir });
  expect(r.code).not.toBe(0);
  expect(cliError(r).message).toContain(
    'acme.unbundled: entry acme.unbundled/tool.js: line 2: imports "canonicalize"; tools are single modules and may not import anything (bundle dependencies into one file).',
  );
}, 120_000);
