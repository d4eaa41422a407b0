import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { loadDockerode } from './dockerode.ts';

/** The container settings toolcage passes to the engine (a subset of the Engine API's create body). */
export interface ContainerSpec {
  Image: string;
  Cmd: string[];
  Entrypoint: string[];
  User: string;
  Env: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Tty: boolean;
  NetworkDisabled: boolean;
  StopTimeout: number;
  Healthcheck: { Test: string[] };
  StopSignal: string;
  HostConfig: Record<string, unknown>;
}

export interface ContainerState {
  Running: boolean;
  ExitCode: number;
  OOMKilled: boolean;
  Status: string;
}

export interface ImageInfo {
  Id: string;
  RepoTags: string[];
  RootFS: { Type: string; Layers: string[] };
  /** The image's run config (Env, Entrypoint, Cmd, User, Volumes, Healthcheck, …), which the engine applies to containers. */
  Config?: Record<string, unknown> | null;
  Created: string;
  Size: number;
}

export interface ContainerSummary {
  Id: string;
  Labels: Record<string, string>;
  State: string;
  Created: number;
}

/**
 * The narrow slice of the Docker Engine API toolcage uses. The one real
 * implementation is {@link dockerodeApi}; tests may hand in a fake where a
 * fake is the point (engine unreachable, odd states).
 */
export interface DockerApi {
  /** Where the engine was looked for, for messages ("unix:///var/run/docker.sock"). */
  readonly endpoint: string;
  ping(timeoutMs: number): Promise<void>;
  /** The OCI runtimes registered with the engine (`docker info` Runtimes), e.g. ['runc', 'runsc']. */
  runtimes(): Promise<string[]>;
  createContainer(spec: ContainerSpec): Promise<string>;
  /** A hijacked attach stream: writes go to stdin, `end()` closes stdin, reads are the multiplexed stdout/stderr frames. */
  attach(id: string): Promise<Duplex>;
  start(id: string): Promise<void>;
  wait(id: string): Promise<{ StatusCode: number }>;
  inspectContainer(id: string): Promise<{ State: ContainerState }>;
  /** The current number of processes, or undefined when the engine cannot tell. */
  pidsCurrent(id: string): Promise<number | undefined>;
  kill(id: string): Promise<void>;
  /** Removes the container, killing it first when it still runs. Resolves when it is gone (or was already gone). */
  remove(id: string): Promise<void>;
  listContainers(labelFilters: string[]): Promise<ContainerSummary[]>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  listImages(reference: string): Promise<ImageInfo[]>;
  /** Imports an uncompressed layer tar as an image tagged `repo:tag`; resolves to the new image id. */
  importImage(tar: Buffer, repo: string, tag: string): Promise<string>;
  removeImage(ref: string): Promise<void>;
}

/** Whether an error says the engine cannot be reached at all (as opposed to refusing one request). */
export function isEngineUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    [
      'ENOENT',
      'ECONNREFUSED',
      'EACCES',
      'EPERM',
      'ECONNRESET',
      'ENOTSOCK',
      'EPIPE',
      'ETIMEDOUT',
      'ENOTCONN',
    ].includes(code)
  );
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The dockerode-backed {@link DockerApi}, talking to the engine over a unix socket. */
export function dockerodeApi(socketPath: string): DockerApi {
  const Docker = loadDockerode();
  const docker = new Docker({ socketPath });
  return {
    endpoint: `unix://${socketPath}`,
    async ping(timeoutMs) {
      const probe = new Docker({ socketPath, timeout: timeoutMs });
      await probe.ping();
    },
    async runtimes() {
      const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
      return Object.keys(info.Runtimes ?? {}).sort();
    },
    async createContainer(spec) {
      const container = await docker.createContainer(spec as Dockerode.ContainerCreateOptions);
      return container.id;
    },
    async attach(id) {
      const stream = await docker
        .getContainer(id)
        .attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      return stream as unknown as Duplex;
    },
    async start(id) {
      await docker.getContainer(id).start();
    },
    async wait(id) {
      const result = (await docker.getContainer(id).wait({ condition: 'not-running' })) as {
        StatusCode: number;
      };
      return { StatusCode: result.StatusCode };
    },
    async inspectContainer(id) {
      const info = await docker.getContainer(id).inspect();
      return { State: info.State as unknown as ContainerState };
    },
    async pidsCurrent(id) {
      // `top` lists the container's processes from the host side; faster and steadier here than a stats sample.
      try {
        const top = (await docker.getContainer(id).top()) as { Processes?: unknown[] };
        return top.Processes?.length;
      } catch {
        return undefined;
      }
    },
    async kill(id) {
      try {
        await docker.getContainer(id).kill({ signal: 'SIGKILL' });
      } catch (err) {
        // 404: gone; 409: not running. Either way it is not running any more.
        if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
      }
    },
    async remove(id) {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
      } catch (err) {
        // 404: already gone. 409 "removal already in progress": the engine finishes it.
        if (statusOf(err) === 404) return;
        if (statusOf(err) === 409 && /already in progress/i.test(String((err as Error).message)))
          return;
        throw err;
      }
    },
    async listContainers(labelFilters) {
      const list = await docker.listContainers({ all: true, filters: { label: labelFilters } });
      return list.map((c) => ({
        Id: c.Id,
        Labels: c.Labels ?? {},
        State: c.State,
        Created: c.Created,
      }));
    },
    async inspectImage(ref) {
      try {
        return (await docker.getImage(ref).inspect()) as unknown as ImageInfo;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    async listImages(reference) {
      const list = await docker.listImages({ filters: { reference: [reference] } });
      const out: ImageInfo[] = [];
      for (const summary of list) {
        const info = await this.inspectImage(summary.Id);
        if (info) out.push(info);
      }
      return out;
    },
    async importImage(tar, repo, tag) {
      const stream = await docker.importImage(tar as unknown as NodeJS.ReadableStream, {
        repo,
        tag,
      });
      const messages = await new Promise<Array<{ status?: string; error?: string }>>(
        (resolve, reject) => {
          docker.modem.followProgress(
            stream,
            (err: Error | null, out: Array<{ status?: string; error?: string }>) =>
              err ? reject(err) : resolve(out),
          );
        },
      );
      const failed = messages.find((m) => m.error);
      if (failed) throw new Error(`image import failed: ${failed.error}`);
      const info = await this.inspectImage(`${repo}:${tag}`);
      if (!info) throw new Error(`image ${repo}:${tag} missing right after import`);
      return info.Id;
    },
    async removeImage(ref) {
      try {
        await docker.getImage(ref).remove({ noprune: false });
      } catch (err) {
        if (statusOf(err) === 404) return;
        throw err;
      }
    },
  };
}
