import canonicalize from 'canonicalize';
import type { JSONWebKeySet } from 'jose';
import { lineHash } from './chain.ts';
import { checkCheckpoint } from './checkpoint.ts';
import { orderAuditFiles, readLines } from './files.ts';

export type FindingKind =
  | 'modified'
  | 'inserted'
  | 'deleted'
  | 'reordered'
  | 'truncated'
  | 'checkpoint_invalid'
  | 'unsealed'
  | 'unsigned';

/** Findings that prove tampering (exit 1); `unsealed` and `unsigned` only mean nothing proves its absence (exit 3). */
export const TAMPER_KINDS: ReadonlySet<FindingKind> = new Set([
  'modified',
  'inserted',
  'deleted',
  'reordered',
  'truncated',
  'checkpoint_invalid',
]);

export interface Finding {
  kind: FindingKind;
  chain?: string;
  seq?: number;
  file: string;
  line?: number;
  detail: string;
}

export interface ChainSummary {
  chain: string;
  records: number;
  lastSeq: number;
  /** The last signed checkpoint verified, if any. */
  checkpointedSeq: number;
  sealed: boolean;
}

export interface VerifyReport {
  ok: boolean;
  /** 0 intact and sealed; 1 tampering found; 3 intact so far but not sealed or not signed. */
  exitCode: 0 | 1 | 3;
  files: string[];
  chains: ChainSummary[];
  findings: Finding[];
}

interface Entry {
  seq: number;
  prev: unknown;
  hash: string;
  file: string;
  line: number;
  rec: Record<string, unknown>;
}

/**
 * Checks the trail: each line is canonical JSON; per chain, seqs appear once,
 * in order, without gaps, each `prev` is the hash of the line before, and
 * every checkpoint's JWS verifies against the audit JWKS and names the head it
 * sits on. A chain that does not end with a final checkpoint is `unsealed`:
 * its tail after the last checkpoint may have been cut (or its writer is
 * still running, or crashed).
 */
export async function verifyAuditFiles(
  files: readonly string[],
  options: { jwks?: JSONWebKeySet | undefined } = {},
): Promise<VerifyReport> {
  const ordered = orderAuditFiles(files);
  const findings: Finding[] = [];
  const chains = new Map<string, Entry[]>();
  for await (const raw of readLines(ordered)) {
    const at = { file: raw.file, line: raw.line };
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(raw.text) as Record<string, unknown>;
    } catch {
      findings.push({
        kind: raw.partial ? 'truncated' : 'modified',
        ...at,
        detail: raw.partial ? 'the file ends inside a line (cut)' : 'not JSON',
      });
      continue;
    }
    const chain = rec?.chain;
    const seq = rec?.seq;
    if (typeof chain !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq)) {
      findings.push({ kind: 'modified', ...at, detail: 'no chain or seq' });
      continue;
    }
    if (canonicalize(rec) !== raw.text) {
      findings.push({ kind: 'modified', chain, seq, ...at, detail: 'not canonical JSON (edited)' });
    }
    const list = chains.get(chain) ?? [];
    list.push({ seq, prev: rec.prev, hash: lineHash(raw.text), rec, ...at });
    chains.set(chain, list);
  }
  const summaries: ChainSummary[] = [];
  for (const [chain, entries] of chains) {
    summaries.push(await checkChain(chain, entries, findings, options.jwks));
  }
  const tampered = findings.some((f) => TAMPER_KINDS.has(f.kind));
  const exitCode = tampered ? 1 : findings.length > 0 ? 3 : 0;
  return { ok: exitCode === 0, exitCode, files: ordered, chains: summaries, findings };
}

async function checkChain(
  chain: string,
  entries: Entry[],
  findings: Finding[],
  jwks: JSONWebKeySet | undefined,
): Promise<ChainSummary> {
  const at = (e: Entry) => ({ chain, seq: e.seq, file: e.file, line: e.line });
  const bySeq = new Map<number, Entry[]>();
  for (const e of entries) bySeq.set(e.seq, [...(bySeq.get(e.seq) ?? []), e]);

  // Reordering: a seq lower than one already seen, and not a duplicate of it.
  let maxSeen = 0;
  for (const e of entries) {
    if (e.seq < maxSeen && bySeq.get(e.seq)!.length === 1)
      findings.push({ kind: 'reordered', ...at(e), detail: `seq ${e.seq} after seq ${maxSeen}` });
    maxSeen = Math.max(maxSeen, e.seq);
  }

  // Insertions: two lines claim one seq; the genuine one is linked to by its successor.
  const chosen = new Map<number, Entry>();
  for (const [seq, list] of bySeq) {
    if (list.length === 1) {
      chosen.set(seq, list[0]!);
      continue;
    }
    const next = bySeq.get(seq + 1)?.[0];
    const genuine = list.find((e) => next && next.prev === e.hash) ?? list[0]!;
    chosen.set(seq, genuine);
    for (const e of list)
      if (e !== genuine)
        findings.push({ kind: 'inserted', ...at(e), detail: `a second line with seq ${seq}` });
  }

  const seqs = [...chosen.keys()].sort((a, b) => a - b);
  let checkpointedSeq = 0;
  let finalSeq: number | undefined;
  let expected = 1;
  let prev: Entry | undefined;
  for (const seq of seqs) {
    const e = chosen.get(seq)!;
    if (seq > expected)
      findings.push({
        kind: 'deleted',
        ...at(e),
        detail:
          expected === 1
            ? `the chain starts at seq ${seq}: seq 1-${seq - 1} are missing (deleted, or in a file not given)`
            : `seq ${expected}-${seq - 1} are missing`,
      });
    else if (prev && e.prev !== prev.hash)
      findings.push({
        kind: 'modified',
        ...at(prev),
        detail: `its hash does not match prev of seq ${seq} (${e.file}:${e.line}): one of the two was edited`,
      });
    else if (!prev && e.prev !== null)
      findings.push({ kind: 'modified', ...at(e), detail: 'seq 1 must have prev null' });
    if (finalSeq !== undefined && seq > finalSeq)
      findings.push({
        kind: 'inserted',
        ...at(e),
        detail: `after the final checkpoint (seq ${finalSeq})`,
      });
    if (e.rec.kind === 'checkpoint') {
      const why = await checkpointProblem(chain, e, prev, jwks);
      if (why === 'unsigned')
        findings.push({
          kind: 'unsigned',
          ...at(e),
          detail: 'checkpoint carries no signature (no audit key configured)',
        });
      else if (why) findings.push({ kind: 'checkpoint_invalid', ...at(e), detail: why });
      else checkpointedSeq = seq;
      if (e.rec.final === true && finalSeq === undefined) finalSeq = seq;
    }
    prev = e;
    expected = seq + 1;
  }
  const last = prev!;
  const sealed = last.rec.kind === 'checkpoint' && last.rec.final === true;
  if (!sealed)
    findings.push({
      kind: 'unsealed',
      ...at(last),
      detail: `the chain ends at seq ${last.seq} without a final checkpoint; ${last.seq - checkpointedSeq} record(s) after the last verified checkpoint (seq ${checkpointedSeq}) may have been cut, or the writer is still running or crashed`,
    });
  return { chain, records: chosen.size, lastSeq: last.seq, checkpointedSeq, sealed };
}

async function checkpointProblem(
  chain: string,
  e: Entry,
  prev: Entry | undefined,
  jwks: JSONWebKeySet | undefined,
): Promise<string | undefined> {
  const covers = e.rec.covers;
  if (covers !== e.seq - 1 || e.rec.prev !== (prev?.hash ?? null))
    return 'the checkpoint does not sit on the record it names';
  if (typeof e.rec.jws !== 'string') return 'unsigned';
  if (!jwks) return 'no audit public keys given to check the signature (--keys)';
  return checkCheckpoint(
    e.rec.jws,
    { chain, seq: covers, head: e.rec.prev as string | null },
    jwks,
  );
}
