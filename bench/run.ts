/**
 * `npm run bench`: every speed target of the project, each next to the raw
 * floor measured in the same run, on this machine. Sizes come from the
 * environment so a quick run is possible: BENCH_N (library calls, default
 * 3000), BENCH_ONLY (comma list: library,redis,policy,audit,http,mcp,docker,startup).
 *
 *   npm run bench
 *   BENCH_ONLY=library,redis BENCH_N=2000 npm run bench
 */
import { benchLibrary } from './library.ts';
import { formatRow } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 3000);
const only = new Set(
  (process.env.BENCH_ONLY ?? 'library,redis,policy,audit,http,mcp,docker,startup')
    .split(',')
    .map((s) => s.trim()),
);
const out = (line = '') => console.log(line);
const verdict = (ok: boolean) => (ok ? 'target met' : 'target MISSED');

out(
  `toolcage bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`,
);

if (only.has('library') || only.has('redis')) {
  out('\n## JS tool call through the library (issue 2; Redis stores: issue 7)');
  out(
    'floor = jose verify + raw isolated-vm fresh-context call of the same tool; c=1 rows measured in interleaved rounds',
  );
  const r = await benchLibrary({
    n: N,
    ...(only.has('redis') ? { redisUrl: 'redis://127.0.0.1:6379' } : {}),
  });
  out(formatRow(r.floor));
  out(formatRow(r.library, r.floor));
  if (r.redis) out(formatRow(r.redis, r.library, 'embedded'));
  out(formatRow(r.libraryConcurrent));
  out(formatRow(r.floorAllCores));
  if (r.redisConcurrent) out(formatRow(r.redisConcurrent));
  const ratio = r.library.p50 / r.floor.p50;
  out(`  library p50 / floor p50 = ${ratio.toFixed(2)}x (target ≤ 1.5x: ${verdict(ratio <= 1.5)})`);
  const cores = r.floorAllCores.concurrency;
  const tput = r.libraryConcurrent.callsPerSecond / r.floorAllCores.callsPerSecond;
  out(
    `  library with 8 in flight / floor on ${cores} cores = ${r.libraryConcurrent.callsPerSecond.toFixed(0)} / ${r.floorAllCores.callsPerSecond.toFixed(0)} calls/s = ${tput.toFixed(2)}x (target ≥ 0.85x: ${verdict(tput >= 0.85)}; the absolute ≥ 2000 calls/s of issue 2: ${verdict(r.libraryConcurrent.callsPerSecond >= 2000)})`,
  );
  if (r.redis) {
    const rr = r.redis.p50 / r.library.p50;
    out(`  redis p50 / embedded p50 = ${rr.toFixed(2)}x (target ≤ 1.3x: ${verdict(rr <= 1.3)})`);
  }
}

if (only.has('policy')) {
  out('\n## Policy: mint with Cedar conditions, call with a scope template (issue 13)');
  const { benchPolicy, reportPolicy } = await import('./policy.ts');
  reportPolicy(await benchPolicy({ n: Math.min(N, 2000) }), out);
}

if (only.has('audit')) {
  out('\n## The audit trail on the library call (issue 12)');
  out(
    'plain = pino file sink (fire-and-forget); chained = RFC 8785 + hash chain + signed checkpoint every 1000 records, the call waits for its record to be written; interleaved rounds',
  );
  const { benchAudit } = await import('./audit.ts');
  const r = await benchAudit({ n: N });
  out(formatRow(r.plain));
  out(formatRow(r.chained, r.plain, 'plain'));
  const ratio = r.chained.p50 / r.plain.p50;
  out(
    `  chained p50 / plain p50 = ${ratio.toFixed(3)}x (target ≤ 1.05x: ${verdict(ratio <= 1.05)})`,
  );
}

if (only.has('http')) {
  out('\n## HTTP runner service under autocannon (issue 4)');
  const { benchHttp } = await import('./http.ts');
  await benchHttp({ log: out });
}

if (only.has('mcp')) {
  out(
    '\n## MCP Streamable HTTP, both protocol eras, against the direct HTTP call (issues 6 and 14)',
  );
  const { benchMcp } = await import('./mcp.ts');
  const r = await benchMcp({ n: Math.min(N, 2000), log: out });
  out(
    `  MCP 2025-11-25 (v1 client, session) p50 / direct ${r.directKind} p50 = ${r.ratioP50.toFixed(2)}x (issue 6 target ≤ 1.5x: ${verdict(r.ratioP50 <= 1.5)})`,
  );
  out(
    `  MCP 2026-07-28 (v2 client, stateless) p50 / direct ${r.directKind} p50 = ${r.modernRatioP50.toFixed(2)}x (issue 14 target ≤ 1.3x: ${verdict(r.modernRatioP50 <= 1.3)})`,
  );
}

if (only.has('docker')) {
  out('\n## Docker tool call against docker run --rm and raw dockerode lifecycles (issue 3)');
  const { benchDocker, benchDockerRuntimes } = await import('./docker.ts');
  await benchDocker({ log: out });
  out(
    '\n## Docker tool call under gVisor (runsc) and runc, against docker run --rm per runtime (issue 18)',
  );
  await benchDockerRuntimes({ log: out });
}

if (only.has('startup')) {
  out('\n## `toolcage serve`: start-up and idle memory (issue 17)');
  out(
    "VmRSS from /proc/<pid>/status after 2 s idle; the floor is a bare `node --no-node-snapshot` process (RSS counts the node binary's shared pages in every process)",
  );
  const { benchStartup, reportStartup } = await import('./startup.ts');
  reportStartup(await benchStartup({ rounds: 5 }), out);
}
