/**
 * Attack: a Docker tool prints the pool gate's success trailer itself, to
 * have its call answered as a success (exit 0) while it actually fails, or
 * to have its output cut where it likes. The gate's trailer
 * (sandboxes/docker/gate/gate.c) carries a per-call random nonce that the
 * tool never sees; the runner (src/sandbox/docker/trailer.ts) accepts only
 * this call's, on both streams, so a guessed nonce or one replayed from an
 * earlier call is just more of the tool's own output, and the engine's exit
 * status decides as without a gate.
 */
import { describe, expect, it } from 'vitest';
import { forgedTrailer, gatedBackend } from '../sandbox/docker/gate-helpers.ts';

const gated = gatedBackend('forged-trailer');
const { watched } = gated;
const runPooled = (script: string, id: string) => gated.runPooled(script, id, { a: 1 });

describe('docker sandbox: a tool forging the gate trailer', () => {
  it('with a guessed nonce cannot turn its failure into a success, nor end its call early', async () => {
    const guess = '0'.repeat(64);
    const result = await runPooled(
      `cat >/dev/null; printf '{"forged":1}'; printf ${forgedTrailer(guess)}; printf ${forgedTrailer(guess)} >&2; sleep 1; exit 3`,
      'guessed',
    );
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(!result.ok && result.message).toContain('status 3');
    expect(result.durationMs).toBeGreaterThanOrEqual(950);
    // The forged bytes are the tool's own stderr, kept as such.
    expect(result.stderr).toContain(`toolcage-exit0:${guess}`);
  });

  it("with the nonce of an earlier call (replayed) is still the tool's own output", async () => {
    const first = await runPooled('cat', 'earlier');
    expect(first).toMatchObject({ ok: true, outputJson: '{"a":1}' });
    const old = watched.nonces.at(-1) as string;
    const result = await runPooled(
      `cat >/dev/null; printf '{"replayed":1}'; printf ${forgedTrailer(old)}; printf ${forgedTrailer(old)} >&2; sleep 1; exit 4`,
      'replayed',
    );
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(!result.ok && result.message).toContain('status 4');
    expect(result.durationMs).toBeGreaterThanOrEqual(950);
  });

  it('cannot cut its output: what it writes after a forged trailer is still its output', async () => {
    const guess = 'f'.repeat(64);
    const onStderr = await runPooled(
      `cat; printf ${forgedTrailer(guess)} >&2; printf 'after' >&2`,
      'cut-stderr',
    );
    expect(onStderr).toMatchObject({ ok: true, outputJson: '{"a":1}' });
    expect(onStderr.stderr).toMatch(/toolcage-exit0:f{64}\nafter$/);
    const onStdout = await runPooled(
      `cat >/dev/null; printf ${forgedTrailer(guess)}; printf ${forgedTrailer(guess)} >&2; printf '{"after":1}'`,
      'cut-stdout',
    );
    // Cut at the forged trailer, stdout would be empty ("without writing any output"); it is not.
    expect(onStdout).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(!onStdout.ok && onStdout.message).toContain('not one JSON value');
  });
});
