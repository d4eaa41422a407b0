import { createHash } from 'node:crypto';
import type { RunLimits, SandboxTool } from '../../ports/sandbox.ts';
import { DEFAULT_GATE_PATH, loadGate, type Gate } from './build/gate.ts';
import { ToolPool, type ToolPoolState } from './pool.ts';
import type { WarmContainer } from './warm.ts';

/** What a pool needs to make one of its containers: the tool's pinned image, limits, runtime and the gate. */
export interface PoolKey {
  tool: SandboxTool;
  imageId: string;
  limits: Required<RunLimits>;
  runtime: 'runsc' | 'runc';
}

export interface ToolPoolsOptions {
  size: number;
  maxStarting: number;
  idleMs: number;
  gatePath?: string;
  /** Makes a pooled container (invocation label `pooled`, no env, no mounts) behind the gate at `gateHostPath`. */
  make: (key: PoolKey, gateHostPath: string) => Promise<WarmContainer>;
  discard: (warm: WarmContainer) => void;
}

/**
 * The warm pools of one backend, one per tool, image, command, limits and
 * runtime: a pool never serves a call whose tool changed under it. A pool is
 * dropped after `idleMs` without calls. A pooled container is started before
 * its call, so its tool must wait behind the gate: without the gate binary
 * there are no pools (calls go cold) and `gateError` says why.
 */
export class ToolPools {
  private readonly pools = new Map<string, ToolPool>();
  private readonly options: ToolPoolsOptions;
  private readonly idleTimer: NodeJS.Timeout;
  private gate: Gate | undefined;
  gateError: string | undefined;
  private closed = false;

  constructor(options: ToolPoolsOptions) {
    this.options = options;
    this.idleTimer = setInterval(
      () => {
        const now = Date.now();
        for (const [key, pool] of this.pools) {
          if (pool.idleFor(now) > options.idleMs) {
            pool.close();
            this.pools.delete(key);
          }
        }
      },
      Math.min(options.idleMs, 5000),
    );
    this.idleTimer.unref();
  }

  /** The pool gate, loaded (built when missing) on the first pool. */
  private gatePath(): string | undefined {
    if (this.gate === undefined && this.gateError === undefined) {
      try {
        this.gate = loadGate(this.options.gatePath ?? DEFAULT_GATE_PATH);
      } catch (err) {
        this.gateError = (err as Error).message;
      }
    }
    return this.gate?.path;
  }

  /** The pool for this tool as pinned now, made on first use; undefined when pools are off or impossible. */
  poolFor(key: PoolKey): ToolPool | undefined {
    if (this.options.size === 0 || this.closed) return undefined;
    const gateHostPath = this.gatePath();
    if (gateHostPath === undefined) return undefined;
    const { tool, imageId, limits, runtime } = key;
    const id = createHash('sha256')
      .update(JSON.stringify([tool.id, tool.version, imageId, tool.command, limits, runtime]))
      .digest('hex');
    let pool = this.pools.get(id);
    if (!pool) {
      // The tool's image or limits changed: its old pool must not serve another call.
      for (const [k, p] of this.pools) {
        if (p.state().tool === `${tool.id}@${tool.version}`) {
          p.close();
          this.pools.delete(k);
        }
      }
      pool = new ToolPool({
        tool: `${tool.id}@${tool.version}`,
        size: this.options.size,
        maxStarting: this.options.maxStarting,
        make: () => this.options.make(key, gateHostPath),
        discard: this.options.discard,
      });
      this.pools.set(id, pool);
    }
    return pool;
  }

  /** The engine was lost: every ready container is dead or soon will be. */
  drainAll(): void {
    for (const pool of this.pools.values()) pool.drain();
  }

  /** Whether any pool is making containers now. */
  get busy(): boolean {
    for (const pool of this.pools.values()) if (pool.busy) return true;
    return false;
  }

  states(now = Date.now()): ToolPoolState[] {
    return [...this.pools.values()].map((p) => p.state(now));
  }

  /** Closes every pool and resolves once none is still making a container. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    for (const pool of this.pools.values()) pool.close();
    await Promise.all([...this.pools.values()].map((p) => p.settled()));
    this.pools.clear();
  }
}
