import type { BackendHealth } from '../../ports/sandbox.ts';
import type { DockerApi } from './api.ts';
import type { RuntimeChooser } from './runtime-choice.ts';

/** The engine's reachability and the OCI runtime tools will run under, for `health()` and `toolcage status`. */
export async function dockerHealth(
  api: DockerApi,
  chooser: RuntimeChooser,
  unavailable: (err: unknown) => string,
): Promise<BackendHealth> {
  try {
    await api.ping(1000);
    const registered = await chooser.registered();
    const runtime = await chooser.defaultRuntime();
    const gvisor = registered.includes('runsc');
    const runtimeInfo = { default: runtime ?? 'none', registered, gvisor };
    if (runtime === undefined)
      return {
        usable: false,
        detail: `Docker engine reachable at ${api.endpoint}, but sandbox.docker.runtime is runsc and the engine has no runsc runtime registered: Docker tools are refused. See docs/gvisor.md.`,
        runtime: runtimeInfo,
      };
    return {
      usable: true,
      detail:
        runtime === 'runsc'
          ? `Docker engine reachable at ${api.endpoint}; tools run under gVisor (runsc)`
          : gvisor
            ? `Docker engine reachable at ${api.endpoint}; tools run under runc on the host kernel: gVisor is turned off (sandbox.docker.runtime: runc)`
            : `Docker engine reachable at ${api.endpoint}; WARNING: tools run under runc on the host kernel, gVisor (runsc) is not registered with this engine (see docs/gvisor.md); tools that require gVisor are refused`,
      runtime: runtimeInfo,
    };
  } catch (err) {
    return { usable: false, detail: unavailable(err) };
  }
}
