/**
 * The suite-wide canary scan: streams every line the system wrote during a
 * test run (audit trails, captured service output) and reports each line
 * holding a canary value or a compact JWS that is not one of the trail's own
 * checkpoints (a claim, a DPoP proof or an identity token would be one).
 * Files are read as streams, line by line: the whole run writes a lot.
 */
import { createReadStream, openSync, readSync, closeSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';

export interface CanaryFinding {
  file: string;
  line: number;
  /** Which canary (by value for fixed ones; a JWS by its `typ`, never the token). */
  what: string;
}

export interface ScanReport {
  files: string[];
  lines: number;
  bytes: number;
  findings: CanaryFinding[];
}

/** Where captured service output goes under the suite root: every file there is in scope. */
export const CAPTURED_DIR = 'captured';

// header.payload.signature, each base64url; the header of any JWS starts with `{"` = `eyJ`.
const COMPACT_JWS = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16,}/g;

/** The trail's checkpoints are signed JWS records of their own: the only JWS a system line may hold. */
const ALLOWED_JWS_TYPES: ReadonlySet<string> = new Set(['toolcage-audit-checkpoint']);

function jwsType(token: string): string {
  try {
    const header = JSON.parse(
      Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'),
    ) as { typ?: unknown };
    return typeof header.typ === 'string' ? header.typ : '(none)';
  } catch {
    return '(unreadable header)';
  }
}

/** What a line leaks: each canary it holds, and each JWS that is not a checkpoint. */
export function scanLine(line: string, canaries: readonly string[]): string[] {
  const found: string[] = [];
  for (const c of canaries) if (c && line.includes(c)) found.push(`canary ${c}`);
  if (line.includes('eyJ'))
    for (const m of line.matchAll(COMPACT_JWS)) {
      const typ = jwsType(m[0]);
      if (!ALLOWED_JWS_TYPES.has(typ)) found.push(`a compact JWS (typ ${typ})`);
    }
  return found;
}

/** Streams one file; resolves to its findings, lines and bytes. */
export async function scanFile(
  file: string,
  canaries: readonly string[],
): Promise<{ findings: CanaryFinding[]; lines: number; bytes: number }> {
  const findings: CanaryFinding[] = [];
  const stream = createReadStream(file, { encoding: 'utf8' });
  let lines = 0;
  let bytes = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    lines++;
    bytes += Buffer.byteLength(line) + 1;
    for (const what of scanLine(line, canaries)) findings.push({ file, line: lines, what });
  }
  return { findings, lines, bytes };
}

/** True when the file's first line is an audit record (`v`, `chain`, `seq`): a trail or a rotation of one. */
export function isAuditTrail(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    if (!text.startsWith('{')) return false;
    const first = text.split('\n', 1)[0]!;
    const r = JSON.parse(first) as Record<string, unknown>;
    return typeof r.chain === 'string' && typeof r.seq === 'number' && r.v !== undefined;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Every regular file under `dir` (unreadable folders and node_modules skipped). */
export function* filesUnder(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') yield* filesUnder(path);
    } else if (e.isFile()) yield path;
  }
}

/**
 * The scan's scope under a suite root: every file in `captured/` (service
 * stdout/stderr, in-memory audit sinks of tests), and every audit trail
 * anywhere else (sniffed by its first record). Tool output files and test
 * fixtures are not system output and are left out.
 */
export function inScope(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel.startsWith(`${CAPTURED_DIR}${sep}`) || isAuditTrail(file);
}

/** Scans every in-scope file under the suite root, one at a time. */
export async function scanSuiteOutput(
  root: string,
  canaries: readonly string[],
): Promise<ScanReport> {
  const report: ScanReport = { files: [], lines: 0, bytes: 0, findings: [] };
  for (const file of filesUnder(root)) {
    if (!inScope(root, file)) continue;
    const r = await scanFile(file, canaries);
    report.files.push(file);
    report.lines += r.lines;
    report.bytes += r.bytes;
    report.findings.push(...r.findings);
  }
  return report;
}
