/**
 * An in-memory Docker Engine behind the narrow {@link DockerApi} port, for
 * unit tests of the pool, the reaper and the error paths, where a fault is
 * the point: containers removed behind the runner's back, an engine that
 * goes silent or refuses, removals that fail. The real-engine tests stay;
 * this one only runs a `tool` function in place of a container.
 */
import { Duplex } from 'node:stream';
import type {
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  DockerApi,
  ImageInfo,
} from '../../../src/sandbox/docker/api.ts';
import { identityOfLayers } from '../../../src/sandbox/docker/build/images.ts';

export const FAKE_LAYERS = [`sha256:${'ab'.repeat(32)}`];
export const FAKE_IDENTITY = identityOfLayers(FAKE_LAYERS);

/** What a fake container does with its stdin: stdout text and an exit code, or undefined: it runs until killed. */
export type FakeTool = (
  stdin: string,
  spec: ContainerSpec,
) => { stdout: string; exitCode: number } | undefined;

interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  stream?: Duplex;
  stdin: string;
  waiters: Array<(code: number) => void>;
}

function frame(kind: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function fault(code: string): Error {
  return Object.assign(new Error(`connect ${code} /fake.sock`), { code });
}

export class FakeDockerApi implements DockerApi {
  readonly endpoint = 'unix:///fake/docker.sock';
  readonly containers = new Map<string, FakeContainer>();
  /** Every call made, by method name (for "never attached to a dead container"). */
  readonly calls: Array<{ method: string; id?: string }> = [];
  /** When set, every request fails as a refused connection (the engine is down). */
  down = false;
  /** When set, the engine stops answering `wait` and attach output (a killed dockerd can do this). */
  silent = false;
  /** Removals to fail before they succeed. */
  failRemovals = 0;
  /** HTTP status to refuse container creation with. */
  refuseCreate: number | undefined;
  runtimeNames = ['runc'];
  tool: FakeTool = (stdin) => ({ stdout: stdin, exitCode: 0 });
  private next = 0;

  private check(method: string, id?: string): void {
    this.calls.push({ method, ...(id ? { id } : {}) });
    if (this.down) throw fault('ECONNREFUSED');
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    return c;
  }

  private exit(c: FakeContainer, code: number): void {
    if (c.state === 'exited') return;
    c.state = 'exited';
    c.exitCode = code;
    if (this.silent) return;
    for (const w of c.waiters.splice(0)) w(code);
  }

  /** Removes a container behind the runner's back (`docker rm -f` by someone else). */
  externalRemove(id: string): void {
    const c = this.get(id);
    this.exit(c, 137);
    this.containers.delete(id);
  }

  async ping(): Promise<void> {
    this.check('ping');
  }
  async runtimes(): Promise<string[]> {
    this.check('runtimes');
    return this.runtimeNames;
  }
  async createContainer(spec: ContainerSpec): Promise<string> {
    this.check('createContainer');
    if (this.refuseCreate !== undefined)
      throw Object.assign(new Error('refused'), { statusCode: this.refuseCreate });
    const id = `fake${String(this.next++).padStart(60, '0')}`;
    this.containers.set(id, { id, spec, state: 'created', exitCode: 0, stdin: '', waiters: [] });
    return id;
  }
  async attach(id: string): Promise<Duplex> {
    this.check('attach', id);
    const c = this.get(id);
    const stream = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => {
        c.stdin += chunk.toString();
        done();
      },
      final: (done) => {
        done();
        if (this.silent || c.state !== 'running') return;
        // As the pool gate does (sandboxes/docker/gate/gate.c): the nonce line first, never the
        // tool's; after a success, the trailer on stdout and stderr.
        const gated = c.spec.Entrypoint[0] === '/run/toolcage/gate';
        const nonce = gated ? c.stdin.slice(0, 64) : '';
        const out = this.tool(gated ? c.stdin.slice(65) : c.stdin, c.spec);
        if (!out) return;
        stream.push(frame(1, out.stdout));
        if (gated && out.exitCode === 0) {
          stream.push(frame(1, `\0toolcage-exit0:${nonce}\n`));
          stream.push(frame(2, `\0toolcage-exit0:${nonce}\n`));
        }
        stream.push(null);
        this.exit(c, out.exitCode);
      },
    });
    c.stream = stream;
    return stream;
  }
  async start(id: string): Promise<void> {
    this.check('start', id);
    this.get(id).state = 'running';
  }
  async wait(id: string): Promise<{ StatusCode: number }> {
    this.check('wait', id);
    const c = this.get(id);
    if (c.state === 'exited' && !this.silent) return { StatusCode: c.exitCode };
    return new Promise((resolve) => c.waiters.push((code) => resolve({ StatusCode: code })));
  }
  async inspectContainer(id: string): Promise<{ State: ContainerState }> {
    this.check('inspectContainer', id);
    const c = this.get(id);
    return {
      State: {
        Running: c.state === 'running',
        ExitCode: c.exitCode,
        OOMKilled: false,
        Status: c.state,
      },
    };
  }
  async pidsCurrent(): Promise<number | undefined> {
    return undefined;
  }
  async kill(id: string): Promise<void> {
    this.check('kill', id);
    const c = this.containers.get(id);
    if (c) this.exit(c, 137);
  }
  async remove(id: string): Promise<void> {
    this.check('remove', id);
    if (this.failRemovals > 0) {
      this.failRemovals--;
      throw Object.assign(new Error('removal failed'), { statusCode: 500 });
    }
    const c = this.containers.get(id);
    if (!c) return;
    this.exit(c, 137);
    c.stream?.destroy();
    this.containers.delete(id);
  }
  async listContainers(): Promise<ContainerSummary[]> {
    this.check('listContainers');
    return [...this.containers.values()].map((c) => ({
      Id: c.id,
      Labels: c.spec.Labels,
      State: c.state,
      Created: 0,
    }));
  }
  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    this.check('inspectImage');
    return {
      Id: `sha256:${'cd'.repeat(32)}`,
      RepoTags: [ref],
      RootFS: { Type: 'layers', Layers: FAKE_LAYERS },
      Config: {},
      Created: '',
      Size: 0,
    };
  }
  async listImages(): Promise<ImageInfo[]> {
    return [];
  }
  async importImage(): Promise<string> {
    throw new Error('the fake engine builds no images');
  }
  async removeImage(): Promise<void> {}
}
