import type { SandboxTool } from '../../ports/sandbox.ts';
import type { DockerApi } from './api.ts';

/**
 * Which OCI runtime a Docker tool runs on. `auto` (the default): gVisor's
 * `runsc` where the engine has it registered, `runc` otherwise, and says
 * so in health. `runsc`: gVisor or nothing. `runc`: the host kernel, except
 * for tools whose manifest requires gVisor (`isolation: gvisor`): those run
 * on runsc or are refused, never silently downgraded.
 */
export type RuntimeSetting = 'auto' | 'runsc' | 'runc';

export type RuntimeChoice =
  { runtime: 'runsc' | 'runc' } | { code: 'sandbox_unavailable'; message: string };

/** The engine's registered runtimes, asked again after `ttlMs` (a runtime registered later is picked up). */
export class RuntimeChooser {
  private cached: { at: number; names: Promise<string[]> } | undefined;
  private readonly api: DockerApi;
  private readonly setting: RuntimeSetting;
  private readonly ttlMs: number;

  constructor(api: DockerApi, setting: RuntimeSetting, ttlMs = 30_000) {
    this.api = api;
    this.setting = setting;
    this.ttlMs = ttlMs;
  }

  /** The engine's runtimes; rejects when the engine cannot be asked. */
  registered(): Promise<string[]> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > this.ttlMs) {
      const names = this.api.runtimes();
      this.cached = { at: now, names };
      names.catch(() => {
        if (this.cached?.names === names) this.cached = undefined;
      });
    }
    return this.cached.names;
  }

  /** Forgets what the engine said (it restarted, or was reconfigured). */
  forget(): void {
    this.cached = undefined;
  }

  /** The runtime tools without an isolation requirement run on here. */
  async defaultRuntime(): Promise<'runsc' | 'runc' | undefined> {
    const names = await this.registered();
    if (this.setting === 'runc') return 'runc';
    if (names.includes('runsc')) return 'runsc';
    return this.setting === 'auto' ? 'runc' : undefined;
  }

  async choose(tool: Pick<SandboxTool, 'id' | 'isolation'>): Promise<RuntimeChoice> {
    const names = await this.registered();
    const gvisor = names.includes('runsc');
    if (tool.isolation === 'gvisor' || this.setting === 'runsc') {
      if (gvisor) return { runtime: 'runsc' };
      const why =
        tool.isolation === 'gvisor'
          ? `${tool.id} requires gVisor (isolation: gvisor)`
          : `The configuration sets sandbox.docker.runtime: runsc`;
      return {
        code: 'sandbox_unavailable',
        message: `${why}, but the Docker engine at ${this.api.endpoint} has no runsc runtime registered (it has ${names.join(', ') || 'none'}). Install runsc and register it with the engine (scripts/setup.sh does both; see docs/gvisor.md). toolcage never runs such a tool on runc instead.`,
      };
    }
    return { runtime: this.setting === 'runc' || !gvisor ? 'runc' : 'runsc' };
  }
}
