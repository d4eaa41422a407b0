/**
 * What one Docker call gets bound in besides its image: the egress socket
 * (when the tool declares `network: { egress }`) and its `expose: file`
 * credentials. Both are made for exactly one call and removed with it.
 *
 * - The egress socket: the EgressSession's Unix-socket proxy
 *   (`startSocketProxy`). Its host folder is 0700 and the runner's; the
 *   socket itself is 0666 so the tool's uid can connect. Only the socket
 *   file is bound, read-only (connecting to a socket needs no write access
 *   to the mount), at `/run/toolcage/egress.sock`. The container keeps
 *   `NetworkMode: none`: the socket is its only way out.
 * - File credentials: a fresh folder on the host's tmpfs (`/dev/shm`, never
 *   on disk): `<0700 runner-owned parent>/s/<as>` (the parent named after
 *   the runner process, see host-sweep.ts), the inner folder 0500
 *   and each file 0400, both owned by the tool's uid, bound read-only at
 *   `/run/secrets`. Other host users cannot pass the 0700 parent; inside,
 *   only the tool's uid can read the file and nobody can change it. The
 *   runner must be root (or hold CAP_CHOWN) to hand the files to the tool's
 *   uid; without that such a call is refused, never run with looser modes.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTAINER_SOCKET_PATH,
  startSocketProxy,
  type SocketProxy,
} from '../../egress/socket-proxy.ts';
import type { EgressSession } from '../../egress/gateway.ts';
import type { RunCredential } from '../../ports/sandbox.ts';
import { TOOL_UID, type BindMount } from './container-spec.ts';
import { egressParent, secretsPrefix } from './host-sweep.ts';
import type { Owner } from './owner.ts';

/** Where `expose: file` credentials appear inside the container. */
export const CONTAINER_SECRETS_DIR = '/run/secrets';

/** A file credential's name is its manifest `as` (`[A-Za-z_][A-Za-z0-9_]*`); anything else never becomes a path. */
const FILE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A call's mounts could not be made; the backend answers `sandbox_unavailable` with this message. */
export class CallMountError extends Error {
  override readonly name = 'CallMountError';
}

export interface CallMounts {
  mounts: BindMount[];
  /** Environment for the container (`TOOLCAGE_EGRESS_SOCKET`). */
  env: string[];
  /** Stops the proxy (ending the session) and removes the secrets folder. Never throws. */
  close(): Promise<void>;
}

export interface CallMountsInput {
  session: EgressSession | undefined;
  credentials: readonly RunCredential[];
  /** The tmpfs the secrets folder goes in. Default `/dev/shm`. */
  secretsRoot?: string;
  /** Names the folders after the runner process, so a later start-up can sweep them if it dies (host-sweep.ts). */
  owner: Pick<Owner, 'pid' | 'pidStart'>;
  /** Where the egress socket folders go. Default: the OS temp dir. */
  tmpDir?: string;
}

function writeSecrets(
  root: string,
  prefix: string,
  credentials: readonly RunCredential[],
): { parent: string; dir: string } {
  const parent = mkdtempSync(join(root, prefix));
  try {
    chmodSync(parent, 0o700);
    const dir = join(parent, 's');
    mkdirSync(dir, { mode: 0o700 });
    for (const c of credentials) {
      if (!FILE_NAME.test(c.as))
        throw new CallMountError(
          `The file credential name "${c.as.slice(0, 64)}" is not a valid file name.`,
        );
      const file = join(dir, c.as);
      // 'wx': a second credential with the same name is a manifest bug, never a silent overwrite.
      writeFileSync(file, c.value, { mode: 0o400, flag: 'wx' });
      chownSync(file, TOOL_UID, TOOL_UID);
    }
    chownSync(dir, TOOL_UID, TOOL_UID);
    chmodSync(dir, 0o500);
    return { parent, dir };
  } catch (err) {
    rmSync(parent, { recursive: true, force: true });
    if (err instanceof CallMountError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') {
      throw new CallMountError(
        `This tool takes a credential as a file (expose: file), which must belong to the tool's uid ${TOOL_UID}; the runner cannot give files away (it needs to run as root or hold CAP_CHOWN). Use expose: egress, or run the runner with that right.`,
        { cause: err },
      );
    }
    throw new CallMountError(
      `Could not write the tool's file credentials under ${root}${typeof code === 'string' ? ` (${code})` : ''}.`,
      { cause: err },
    );
  }
}

/**
 * Makes a call's mounts. On failure nothing is left behind (the session is
 * closed, the folder removed) and a CallMountError says why.
 */
export async function prepareCallMounts(input: CallMountsInput): Promise<CallMounts> {
  const files = input.credentials.filter((c) => c.expose === 'file');
  let secrets: { parent: string; dir: string } | undefined;
  let proxy: SocketProxy | undefined;
  const close = async (): Promise<void> => {
    try {
      if (proxy) await proxy.close();
      else input.session?.close();
    } catch {
      // the proxy's own clean-up failing must not keep the secrets on disk
    }
    if (secrets) rmSync(secrets.parent, { recursive: true, force: true });
  };
  try {
    const mounts: BindMount[] = [];
    const env: string[] = [];
    if (files.length > 0) {
      secrets = writeSecrets(input.secretsRoot ?? '/dev/shm', secretsPrefix(input.owner), files);
      mounts.push({ source: secrets.dir, target: CONTAINER_SECRETS_DIR, readOnly: true });
    }
    if (input.session) {
      try {
        proxy = await startSocketProxy(input.session, {
          dir: egressParent(input.tmpDir ?? tmpdir(), input.owner),
        });
      } catch (err) {
        throw new CallMountError('Could not start the egress proxy for this call.', { cause: err });
      }
      mounts.push({ source: proxy.path, target: CONTAINER_SOCKET_PATH, readOnly: true });
      env.push(`TOOLCAGE_EGRESS_SOCKET=${CONTAINER_SOCKET_PATH}`);
    }
    return { mounts, env, close };
  } catch (err) {
    await close();
    throw err;
  }
}
