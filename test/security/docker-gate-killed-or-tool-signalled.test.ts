/**
 * Attack: a Docker tool in a pooled container attacks the gate that reports
 * its success (sandboxes/docker/gate/gate.c, the container's pid 1): it
 * kills the gate, or dies by a signal after writing a valid answer, hoping
 * for a success the engine would not report. The gate writes its trailer
 * only after a tool's exit 0; with no trailer the runner waits for the
 * engine's exit status, which decides exactly as without a gate.
 */
import { describe, expect, it } from 'vitest';
import { gatedBackend } from '../sandbox/docker/gate-helpers.ts';

const { watched, runPooled } = gatedBackend('gate-killed');

describe('docker sandbox: a tool against the gate', () => {
  it("that kills the gate (pid 1 and its parent) gets the engine's verdict", async () => {
    const before = new Set(watched.engineStatus.keys());
    const result = await runPooled(
      `cat >/dev/null; printf '{"x":1}'; kill -9 1 $PPID 2>/dev/null; kill -STOP 1 $PPID 2>/dev/null; sleep 0.5; exit 0`,
      'kill-gate',
    );
    // Under runc the kernel shields pid 1 from signals sent inside its namespace: the gate lives and
    // the tool's exit 0 stands. gVisor lets the kill through: the container ends with the gate
    // (137), and the call fails as the engine says, never a success.
    const status = [...watched.engineStatus].find(([id]) => !before.has(id))?.[1];
    if (status === undefined || status === 0) {
      expect(result).toMatchObject({ ok: true, outputJson: '{"x":1}' });
    } else {
      expect(result.ok).toBe(false);
    }
  });

  it('that dies by a signal after a valid answer fails as the engine says (the signal, not a success)', async () => {
    const result = await runPooled(
      `cat >/dev/null; printf '{"x":1}'; kill -TERM $$; sleep 5`,
      'signalled',
    );
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(!result.ok && result.message).toContain('(signal 15)');
  });

  it('that exits non-zero after a valid answer fails with its status', async () => {
    const result = await runPooled(`cat >/dev/null; printf '{"x":1}'; exit 2`, 'exit-2');
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(!result.ok && result.message).toContain('status 2');
  });
});
