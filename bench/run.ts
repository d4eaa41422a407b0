/**
 * `npm run bench`: every speed target of the project, each next to the raw
 * floor measured in the same run, on this machine. Sizes come from the
 * environment so a quick run is possible: BENCH_N (library calls, default
 * 3000), BENCH_ONLY (comma list: library,redis,http,mcp,docker).
 *
 *   npm run bench
 *   BENCH_ONLY=library,redis BENCH_N=2000 npm run bench
 */
import { benchLibrary } from './library.ts';
import { formatRow } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 3000);
const only = new Set((process.env.BENCH_ONLY ?? 'library,redis,http,mcp,docker').split(',').map((s) => s.trim()));
const out = (line = '') => console.log(line);
const verdict = (ok: boolean) => (ok ? 'target met' : 'target MISSED');

out(`toolcage bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`);

if (only.has('library') || only.has('redis')) {
  out('\n## JS tool call through the library (issue 2): floor = jose verify + raw isolated-vm fresh-context call');
  const mem = await benchLibrary({ n: N, label: '(sqlite replay, memory governors)' });
  out(formatRow(mem.floor));
  out(formatRow(mem.library, mem.floor));
  out(formatRow(mem.libraryConcurrent));
  out(`  p50 ratio ${(mem.library.p50 / mem.floor.p50).toFixed(2)}x (target ≤ 1.5x: ${verdict(mem.library.p50 / mem.floor.p50 <= 1.5)}); ${mem.libraryConcurrent.callsPerSecond.toFixed(0)} calls/s with 8 in flight (target ≥ 2000: ${verdict(mem.libraryConcurrent.callsPerSecond >= 2000)})`);
  if (only.has('redis')) {
    out('\n## Redis-backed stores against embedded stores (issue 7)');
    const redis = await benchLibrary({ n: N, label: '(redis stores)', config: { state: { stores: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: `toolcage-bench-${process.pid}` } } } });
    out(formatRow(redis.library, mem.library));
    out(formatRow(redis.libraryConcurrent));
    out(`  redis p50 / embedded p50 = ${(redis.library.p50 / mem.library.p50).toFixed(2)}x (target ≤ 1.3x: ${verdict(redis.library.p50 / mem.library.p50 <= 1.3)})`);
  }
}

if (only.has('http')) {
  out('\n## HTTP runner service under autocannon (issue 4)');
  const { benchHttp } = await import('./http.ts');
  await benchHttp({ log: out });
}

if (only.has('mcp')) {
  out('\n## MCP Streamable HTTP with the SDK client against the direct HTTP call (issue 6)');
  const { benchMcp } = await import('./mcp.ts');
  const r = await benchMcp({ n: Math.min(N, 2000), log: out });
  out(`  MCP p50 / direct ${r.directKind} p50 = ${r.ratioP50.toFixed(2)}x (target ≤ 1.5x: ${verdict(r.ratioP50 <= 1.5)})`);
}

if (only.has('docker')) {
  out('\n## Docker tool call against docker run --rm and raw dockerode lifecycles (issue 3)');
  const { benchDocker } = await import('./docker.ts');
  await benchDocker({ log: out });
}
