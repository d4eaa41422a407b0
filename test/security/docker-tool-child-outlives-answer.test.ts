/**
 * Attack: a Docker tool leaves a child running after it exits, to write
 * after its call was answered on the gate's trailer (before the engine
 * reported the container stopped), to keep its container alive, or to read
 * the gate's trailer back from the container's stdout and replay it. The
 * gate is the container's pid 1 and exits right after the trailer, which
 * ends every process left in the namespace; nothing after the trailer is
 * the call's; the container is removed like every other; and the gate
 * writes a trailer only for a real exit 0, so there is nothing to steal
 * from a failing call.
 */
import { describe, expect, it } from 'vitest';
import { containersOf } from '../sandbox/docker/helpers.ts';
import { gatedBackend } from '../sandbox/docker/gate-helpers.ts';

const { runnerId, backend, runPooled } = gatedBackend('child-outlives');

describe('docker sandbox: a child the tool leaves running', () => {
  it('writes nothing into the answer, and its container is removed', async () => {
    const result = await runPooled(
      `cat >/dev/null; (trap '' TERM HUP; sleep 0.3; printf late; printf late >&2; sleep 30) & printf '{"x":1}'; exit 0`,
      'leftover',
    );
    expect(result).toMatchObject({ ok: true, outputJson: '{"x":1}' });
    expect(result.stderr).not.toContain('late');
    await backend.whenIdle();
    const left = (await containersOf(runnerId)).filter(
      (c) => c.Labels['toolcage.invocation'] !== 'pooled',
    );
    expect(left).toEqual([]);
  });

  it('that reads the container stdout back finds no trailer to replay on a failure', async () => {
    // The child reads what it can of the container's own stdout (gVisor lets /proc/1/fd/1 open;
    // runc's pipes are the tool's own) and writes back everything it read, trailers included.
    const result = await runPooled(
      `cat >/dev/null; (for f in /proc/1/fd/1 /proc/self/fd/1; do timeout 2 cat $f 2>/dev/null | tee /proc/self/fd/1 >&2 & done; sleep 2) & sleep 0.2; printf '{"x":1}'; exit 5`,
      'steal',
    );
    expect(result).toMatchObject({ ok: false, code: 'sandbox_failed' });
    expect(!result.ok && result.message).toContain('status 5');
  });
});
