/**
 * An esbuild plugin for `scripts/bundle-cli.ts`: a few `require`s that
 * bundled dependencies run while `toolcage serve` starts, for modules the
 * service never (or only much later) uses, are made lazy. The module is still
 * bundled; it is evaluated on first use instead of when its importer loads.
 *
 * Each entry names the importing file, so only that `require` changes:
 *
 * - prom-client's `index.js` requires its Pushgateway (http, https, zlib, url)
 *   and `lib/metrics/processCpuTotal.js` the OpenTelemetry API (for exemplars,
 *   which toolcage does not turn on): ~35 ms of `serve`'s start-up CPU, for
 *   a class toolcage never constructs and an API it never calls through them.
 * - fastify's schema controller requires its Ajv and fast-json-stringify
 *   compiler factories (Ajv, ajv-formats, fast-uri, fast-json-stringify) when
 *   the app is made; they build a compiler only for a route with a schema,
 *   which toolcage's routes do not declare (they validate with zod).
 *
 * `proxy` stands for a module whose exports are read (or which is called or
 * constructed) later; `selector` for a factory called at once that returns the
 * function fastify calls later: the factory itself runs on that first call.
 */
import { dirname, relative } from 'node:path';
import type * as esbuild from 'esbuild';

type Kind = 'proxy' | 'selector';

const LAZY: ReadonlyArray<{ spec: string; importer: RegExp; kind: Kind }> = [
  { spec: './lib/pushgateway', importer: /[\\/]prom-client[\\/]index\.js$/, kind: 'proxy' },
  {
    spec: '@opentelemetry/api',
    importer: /[\\/]prom-client[\\/]lib[\\/]metrics[\\/]processCpuTotal\.js$/,
    kind: 'proxy',
  },
  {
    spec: '@fastify/ajv-compiler',
    importer: /[\\/]fastify[\\/]lib[\\/]schema-controller\.js$/,
    kind: 'selector',
  },
  {
    spec: '@fastify/fast-json-stringify-compiler',
    importer: /[\\/]fastify[\\/]lib[\\/]schema-controller\.js$/,
    kind: 'selector',
  },
];

const NAMESPACE = 'toolcage-lazy-require';
const RESOLVING = Symbol('resolving the real module');

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/@-]/g, '\\$&');
}

/** The module that stands for `real`: it requires `real` (bundled too) on first use. */
function lazyModule(real: string, kind: Kind): string {
  const load = `let real;\nconst load = () => (real ??= require(${JSON.stringify(real)}));\n`;
  if (kind === 'selector')
    return `'use strict';\n${load}module.exports = function lazySelector(...selectorArgs) {
  let built;
  return function (...args) {
    built ??= load()(...selectorArgs);
    return built.apply(this, args);
  };
};\n`;
  // A strict function as the target: it can be called and constructed, and has no
  // non-configurable, non-writable own property a get trap would have to report as is.
  // Reading, calling and constructing are what the importers do; nothing enumerates it.
  return `'use strict';\n${load}module.exports = new Proxy(function () {}, {
  get: (_, key) => Reflect.get(load(), key),
  has: (_, key) => Reflect.has(load(), key),
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
});\n`;
}

export const lazyRequires: esbuild.Plugin = {
  name: 'toolcage-lazy-requires',
  setup(build) {
    const matched = new Set<string>();
    for (const { spec, importer, kind } of LAZY) {
      build.onResolve({ filter: new RegExp(`^${escape(spec)}$`) }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined;
        if (args.kind !== 'require-call' || !importer.test(args.importer)) return undefined;
        const real = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: RESOLVING, // passed over above: esbuild's own resolution
        });
        if (real.errors.length > 0) return { errors: real.errors };
        matched.add(spec);
        // Named by its path in the package (as esbuild names bundled files), not the build machine's.
        const root = build.initialOptions.absWorkingDir ?? process.cwd();
        return {
          path: relative(root, real.path),
          namespace: NAMESPACE,
          pluginData: { kind, real: real.path },
        };
      });
    }
    // A dependency that moved its require would silently undo the saving: the build says so instead.
    build.onEnd((result) => {
      const missed = LAZY.filter((l) => !matched.has(l.spec)).map((l) => l.spec);
      if (missed.length > 0 && result.errors.length === 0)
        throw new Error(
          `no bundled module required ${missed.join(', ')} where scripts/bundle-lazy-requires.ts expects it: update its table`,
        );
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
      const { kind, real } = args.pluginData as { kind: Kind; real: string };
      return { contents: lazyModule(real, kind), resolveDir: dirname(real), loader: 'js' };
    });
  },
};
