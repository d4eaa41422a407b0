/**
 * dockerode, loaded without its BuildKit session at start-up.
 *
 * dockerode's main module requires `lib/session.js` at load time, and that
 * pulls in @grpc/grpc-js and protobufjs (~110 modules, ~7 MB resident, most of
 * a second of start-up on a busy 2-core host) for one feature toolcage never
 * uses: BuildKit builds with a gRPC session (`buildImage` with `version: '2'`;
 * images are imported as layer tars instead, see build/images.ts). The session
 * module is seeded in the CommonJS cache with a stand-in that loads the real
 * one on its first call, so the feature still works if it is ever used; so is
 * docker-modem's ssh transport (see `deferModemSsh`).
 */
import { createRequire } from 'node:module';
import type Dockerode from 'dockerode';

const require = createRequire(import.meta.url);

type Loaded = (...args: unknown[]) => unknown;

/**
 * Seeds the CommonJS cache at `path` with a stand-in that loads the real
 * module (a function) on its first call, and calls it.
 */
function deferModule(path: string): void {
  if (require.cache[path]) return; // already loaded for real: nothing left to save
  let real: Loaded | undefined;
  const standIn: Loaded = function (this: unknown, ...args: unknown[]) {
    if (!real) {
      delete require.cache[path];
      real = require(path) as Loaded;
    }
    return real.apply(this, args);
  };
  require.cache[path] = {
    id: path,
    path,
    filename: path,
    loaded: true,
    exports: standIn,
  } as unknown as NodeJS.Module;
}

/**
 * docker-modem's `lib/ssh.js` (ssh2, its crypto and asn1: ~55 ms of a busy
 * start's CPU, spent just after `serve` listens, when the Docker backend is
 * made) is needed only for an `ssh://` engine; toolcage talks to a Unix
 * socket. docker-modem is resolved from dockerode, wherever npm placed it.
 */
function deferModemSsh(): void {
  const fromDockerode = createRequire(require.resolve('dockerode'));
  deferModule(fromDockerode.resolve('docker-modem/lib/ssh.js'));
}

let docker: typeof Dockerode | undefined;

/**
 * The dockerode class (the same module `import Docker from 'dockerode'`
 * gives), loaded on first use: a command or a runner without Docker never
 * loads it (nor ssh2, through docker-modem).
 */
export function loadDockerode(): typeof Dockerode {
  if (!docker) {
    deferModule(require.resolve('dockerode/lib/session.js'));
    deferModemSsh();
    docker = require('dockerode') as typeof Dockerode;
  }
  return docker;
}
