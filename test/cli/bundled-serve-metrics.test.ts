// The bundled CLI (`dist/cli/main.js`, the package's bin, built by `npm run build`) serves the same
// /metrics as the library: the bundle makes a few of its dependencies' requires lazy (prom-client's
// Pushgateway and OpenTelemetry API, fastify's schema compilers; scripts/bundle-lazy-requires.ts), and
// the process metrics that go through them must still be there and clean under promtool.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = join(ROOT, 'dist/cli/main.js');

let ws: Workspace;
let child: ChildProcess | undefined;
let url: string;

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  ws = await makeWorkspace();
  child = spawn(process.execPath, [BUILT, 'serve', '--config', ws.configFile, '--port', '0'], {
    cwd: ws.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not listen: ${out}`)), 60_000);
    const read = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*runner listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child!.stdout!.on('data', read);
    child!.stderr!.on('data', read);
    child!.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  ws?.cleanup();
});

it('the bundle stands in for each lazily required module', () => {
  const bundle = readdirSync(join(ROOT, 'dist/cli/bundle'))
    .map((f) => readFileSync(join(ROOT, 'dist/cli/bundle', f), 'utf8'))
    .join('\n');
  for (const path of [
    'prom-client/lib/pushgateway.js',
    '@opentelemetry/api/dist/index.cjs',
    '@fastify/ajv-compiler/index.js',
    '@fastify/fast-json-stringify-compiler/index.js',
  ])
    expect(bundle).toContain(`"toolcage-lazy-require:node_modules/${path}"`);
});

it('serves /healthz and /metrics with the process metrics, clean under promtool', async () => {
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const r = await fetch(`${url}/metrics`);
  expect(r.status).toBe(200);
  const text = await r.text();
  // processCpuTotal is the module whose OpenTelemetry require is lazy: its counter still counts.
  expect(text).toMatch(/^process_cpu_seconds_total [0-9.e-]+$/m);
  expect(Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)![1])).toBeGreaterThan(0);
  for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes'])
    expect(text).toContain(`# TYPE ${name} gauge`);
  expect(text).toContain('# TYPE toolcage_calls_total counter');
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (check.error)
    throw new Error(`promtool is not runnable (${check.error.message}); run scripts/setup.sh`);
  expect({ status: check.status, output: `${check.stdout}${check.stderr}`.trim() }).toEqual({
    status: 0,
    output: '',
  });
}, 30_000);
