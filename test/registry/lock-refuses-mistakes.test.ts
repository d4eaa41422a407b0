// `registry lock` and `registry verify` refuse each mistake that would otherwise fail only at the first
// call (or fail every call): a typo'd schema keyword, a syntax error, an import, a missing default export,
// a missing entry file, a missing Docker image. At load, a pinned tool that cannot run is withheld with
// its problem while the other tools keep serving.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from '../../src/registry/registry.ts';
import { buildLock, writeSignedLock } from '../../src/registry/lock-build.ts';
import { checkJsEntry } from '../../src/registry/js-entry.ts';
import { cliError, runCli } from '../helpers/cli.ts';
import { addTool, makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeEach(async () => {
  ws = await makeWorkspace();
});
afterEach(() => ws.cleanup());

const GOOD = 'export default function run(input) { return { n: 1 }; }\n';

async function lockError(): Promise<string> {
  const r = await runCli(['registry', 'lock'], { cwd: ws.dir });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const e = cliError(r);
  expect(e.code).toBe('registry_invalid');
  return e.message;
}

describe('registry lock refuses, naming tool, file and mistake', { timeout: 120_000 }, () => {
  it('a typo in a schema keyword (maxLenght)', async () => {
    addTool(ws, {
      id: 'acme.typo',
      source: GOOD,
      inputSchema: { type: 'object', properties: { s: { type: 'string', maxLenght: 3 } } },
    });
    const message = await lockError();
    expect(message).toMatch(/^Nothing was locked; fix these first:\n- acme\.typo: /);
    expect(message).toContain('acme.typo/manifest.yaml: inputSchema');
    expect(message).toContain('unknown keyword: "maxLenght"');
  });

  it('a syntax error in the entry', async () => {
    addTool(ws, { id: 'acme.syntax', source: 'export default function run(input) { return {;\n' });
    expect(await lockError()).toMatch(/acme\.syntax: entry acme\.syntax\/tool\.js: syntax error: /);
  });

  it('an import, static or dynamic', async () => {
    addTool(ws, {
      id: 'acme.imports',
      source: `import fs from 'node:fs';\nexport default async function run() { await import('x'); return {}; }\n`,
    });
    const message = await lockError();
    expect(message).toContain(
      'acme.imports: entry acme.imports/tool.js: line 1: imports "node:fs"; tools are single modules and may not import anything',
    );
    expect(message).toContain('acme.imports: entry acme.imports/tool.js: line 2: dynamic import()');
  });

  it('no default export, or a default export that is not a function', async () => {
    addTool(ws, { id: 'acme.nodefault', source: 'export function run() { return {}; }\n' });
    addTool(ws, { id: 'acme.objdefault', source: 'export default { run() {} };\n' });
    const message = await lockError();
    expect(message).toContain(
      'acme.nodefault: entry acme.nodefault/tool.js: has no default export',
    );
    expect(message).toContain(
      'acme.objdefault: entry acme.objdefault/tool.js: the default export is object, not a function',
    );
  });

  it('a missing entry file, by its path', async () => {
    const folder = addTool(ws, { id: 'acme.gone', source: GOOD });
    rmSync(`${folder}/tool.js`);
    const message = await lockError();
    expect(message).toContain(`acme.gone: entry file ${folder}/tool.js`);
    expect(message).toContain('it does not exist');
  });

  it('a Docker image the engine does not hold', async () => {
    addDockerTool(ws, 'acme.image');
    const missing = (image: string) =>
      Promise.reject(new Error(`image ${image} is not present on the engine`));
    await expect(buildLock(ws.manifests, missing)).rejects.toMatchObject({
      code: 'registry_invalid',
      message: expect.stringContaining(
        'acme.image: image acme/not-built:1 is not available: image acme/not-built:1 is not present on the engine',
      ),
    });
  });

  it('accepts esbuild-style output: `export { run as default }` and aliases', () => {
    expect(
      checkJsEntry(
        'var tool_default = async (i) => i;\nexport { tool_default as default };\n',
        'a.js',
      ),
    ).toEqual([]);
    expect(
      checkJsEntry(
        'function run(i) { return i; }\nconst alias = run;\nexport default alias;\n',
        'a.js',
      ),
    ).toEqual([]);
    expect(checkJsEntry('const v = 1;\nexport default v;\n', 'a.js')).toEqual([
      'a.js: the default export is literal, not a function run(input, ctx).',
    ]);
  });
});

describe(
  'at load, a pinned tool that cannot run is withheld; the others serve',
  { timeout: 120_000 },
  () => {
    it('a schema typo pinned by an older lock withholds only that tool, and verify names it', async () => {
      const folder = addTool(ws, { id: 'acme.typo', source: GOOD });
      await ws.relock();
      // Pin a schema the strict validator refuses, as a lock written before these checks would have.
      const manifest = `${folder}/manifest.yaml`;
      writeFileSync(
        manifest,
        readFileSync(manifest, 'utf8').replace(
          '"additionalProperties": true\n  },\n  "outputSchema"',
          '"additionalProperties": true, "maxLenght": 3\n  },\n  "outputSchema"',
        ),
      );
      expect(readFileSync(manifest, 'utf8')).toContain('maxLenght');
      const lockText = readFileSync(`${ws.manifests}/registry.lock.json`, 'utf8');
      const { scanTool } = await import('../../src/registry/scan.ts');
      const scanned = await scanTool(ws.manifests, manifest);
      const lock = JSON.parse(lockText) as { tools: Array<{ id: string; manifestSha256: string }> };
      lock.tools.find((t) => t.id === 'acme.typo')!.manifestSha256 = scanned.manifestSha256;
      const { signLock } = await import('../../src/registry/lock.ts');
      const { signature: _s, ...lockBody } = lock as never as Record<string, unknown>;
      writeFileSync(
        `${ws.manifests}/registry.lock.json`,
        JSON.stringify(await signLock(lockBody as never, ws.registryKey)),
      );

      const registry = await Registry.load({
        dir: ws.manifests,
        lockKeys: JSON.parse(readFileSync(ws.path('keys', 'registry.jwks.json'), 'utf8')),
      });
      expect(registry.get('acme.typo')).toBeUndefined();
      expect(registry.get('text.word_count')).toBeDefined();
      expect(registry.withheld).toEqual([
        {
          id: 'acme.typo',
          problems: [expect.stringContaining('unknown keyword: "maxLenght"')],
        },
      ]);

      const verify = await runCli(['registry', 'verify'], { cwd: ws.dir });
      expect(verify.code).not.toBe(0);
      expect(cliError(verify).message).toMatch(
        /acme\.typo: acme\.typo\/manifest\.yaml: inputSchema: not a valid JSON Schema: strict mode: unknown keyword: "maxLenght"/,
      );

      const status = await runCli(['status'], { cwd: ws.dir, timeoutMs: 60_000 });
      const body = JSON.parse(status.stdout) as { withheld: unknown; tools: Array<{ id: string }> };
      expect(body.withheld).toEqual([
        { id: 'acme.typo', problems: [expect.stringContaining('maxLenght')] },
      ]);
      expect(body.tools.map((t) => t.id)).toContain('text.word_count');
    });

    it('a missing Docker image withholds only that tool', async () => {
      addDockerTool(ws, 'acme.image');
      await writeSignedLock(ws.manifests, ws.registryKey, () => Promise.resolve('a'.repeat(64)));
      const registry = await Registry.load({
        dir: ws.manifests,
        insecureSkipLockSignature: true,
        imageIdentity: (image) => Promise.reject(new Error(`image ${image} is not present`)),
      });
      expect(registry.get('text.word_count')).toBeDefined();
      expect(registry.get('acme.image')).toBeUndefined();
      expect(registry.withheld).toEqual([
        {
          id: 'acme.image',
          problems: [
            expect.stringMatching(
              /^acme\.image: image acme\/not-built:1 is not available: image acme\/not-built:1 is not present\. Build or load it/,
            ),
          ],
        },
      ]);
    });
  },
);

function addDockerTool(w: Workspace, id: string): string {
  const folder = addTool(w, { id, source: GOOD });
  writeFileSync(
    `${folder}/manifest.yaml`,
    readFileSync(`${folder}/manifest.yaml`, 'utf8')
      .replace('"runtime": "js"', '"runtime": "docker"')
      .replace('"entry": "tool.js"', '"image": "acme/not-built:1", "command": ["/bin/tool"]')
      .replace('"maxOutputBytes": 4096', '"maxOutputBytes": 4096, "cpus": 1, "pids": 16'),
  );
  return folder;
}
