/**
 * Bundles the CLI entry after `tsc` (`npm run build`): `dist/cli/main.js`
 * becomes one small entry file plus chunks in `dist/cli/bundle/`, one per
 * lazily loaded part (each command, each composition root, fastify, the
 * Docker backend, ...), holding our modules and the pure-JS dependencies.
 *
 * Why: `toolcage serve` loaded ~810 ES modules before it listened; resolving,
 * reading and linking each one cost a third of its start-up CPU. Bundled it
 * loads a few dozen files (docs/performance.md has the figures). Everything
 * else in `dist/` stays the `tsc` output the library exports and the tests use,
 * and the JS sandbox workers are still forked from `dist/sandbox/isolated-vm/`.
 *
 * Kept external (loaded from node_modules as before): native addons, and the
 * modules our code loads through `createRequire` on purpose (dockerode without
 * its BuildKit session, Cedar's wasm). A module that uses `import.meta.url`
 * keeps seeing the URL of its `tsc` twin in `dist/`, so every file it finds
 * relative to itself (the worker, the prelude, the console, the templates) is
 * found where it was.
 *
 *   node scripts/bundle-cli.ts        (run by `npm run build`, after tsc)
 */
import { readFile, rm, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { lazyRequires } from './bundle-lazy-requires.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'cli');
/** Where the chunks go: the module-URL rewrite below resolves from this folder. */
const CHUNKS = join(OUT, 'bundle');

// pino and ioredis find files beside their own (__dirname: pino's transport workers; ioredis's stack trimming).
const EXTERNAL = [
  'isolated-vm',
  'dockerode',
  'ssh2',
  'cpu-features',
  '@cedar-policy/cedar-wasm',
  'pino',
  'ioredis',
];

/** The identifier `import.meta.url` becomes in each of our modules (one per module, scope-hoisted). */
const MODULE_URL = '__toolcageModuleUrl';

/** Each of our modules that reads `import.meta.url` reads its `tsc` twin's URL instead. */
const moduleUrl: esbuild.Plugin = {
  name: 'toolcage-module-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(SRC)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta')) return { contents: source, loader: 'ts' };
      const twin = relative(CHUNKS, join(DIST, relative(SRC, args.path))).replace(/\.ts$/, '.js');
      // A real transform, not a text replace: `import.meta.url` inside a string (templates.ts) stays.
      const { code } = await esbuild.transform(source, {
        loader: 'ts',
        format: 'esm',
        define: { 'import.meta.url': MODULE_URL },
      });
      return {
        contents: `const ${MODULE_URL} = new URL(${JSON.stringify(twin)}, import.meta.url).href;\n${code}`,
        loader: 'js',
      };
    });
  },
};

/**
 * `node:http` and `node:https`, imported by ES modules, are taken with `require` instead: an ES
 * import of a built-in makes Node build its ES facade, which reads every export, and for these
 * that runs the lazy getters that load undici (~9% of `serve`'s start-up CPU). Other built-ins
 * have no such getters and stay ES imports (each redirected one becomes a chunk of its own).
 */
const builtinsByRequire: esbuild.Plugin = {
  name: 'toolcage-builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?https?$/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import'
        ? { path: args.path, namespace: 'node-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

await rm(CHUNKS, { recursive: true, force: true });
await unlink(join(OUT, 'main.js.map')).catch(() => undefined); // tsc's, of the file replaced here
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: [join(SRC, 'cli/main.ts')],
  outdir: OUT,
  entryNames: '[name]',
  chunkNames: 'bundle/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: EXTERNAL,
  // CommonJS dependencies bundled into ES modules call `require` for Node's built-ins.
  banner: {
    js: "import { createRequire as __toolcageCreateRequire } from 'node:module';\nconst require = __toolcageCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  plugins: [moduleUrl, builtinsByRequire, lazyRequires],
});

// The entry sits one folder above the chunks: a module placed in it would resolve its twin wrongly.
const entry = result.metafile.outputs[relative(ROOT, join(OUT, 'main.js'))];
const misplaced = Object.keys(entry?.inputs ?? {}).filter(
  (input) => input.startsWith('src/') && !['src/cli/main.ts'].includes(input),
);
for (const input of misplaced) {
  const source = await readFile(join(ROOT, input), 'utf8');
  if (source.includes('import.meta'))
    throw new Error(`${input} reads import.meta but was bundled into the entry, not a chunk`);
}
