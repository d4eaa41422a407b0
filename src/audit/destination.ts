import { mkdirSync, writeSync } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { write as writeFd } from 'node:fs';
import { dirname } from 'node:path';

/** Where sealed lines go. `append` either writes the whole buffer or throws, leaving no partial line it can remove. */
export interface AuditDestination {
  append(buf: Buffer): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface RotationOptions {
  /** Rotate when the file would grow past this many bytes. */
  maxBytes: number;
  /** Rotate files older than this (absent: by size only). */
  everySeconds?: number | undefined;
}

const CHECK_MS = 500;

/** The name a rotated file gets: sorts after older rotations and before the live file's next one. */
export function rotatedName(file: string, at: Date, writer: string): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `${file}.${stamp}.${writer.slice(-12)}`;
}

/**
 * Appends to one file with O_APPEND, so several writers (processes) can share
 * it: each batch is one `write`, and lines of one writer never interleave with
 * another's inside a batch on a local filesystem. Rotation renames the live
 * file; other writers notice (the path's inode changed) and reopen.
 */
export class FileDestination implements AuditDestination {
  readonly #file: string;
  readonly #rotate: RotationOptions;
  readonly #writer: string;
  readonly #now: () => number;
  #fh: FileHandle | undefined;
  #ino = 0;
  #size = 0;
  #openedAt = 0;
  #checkedAt = 0;

  constructor(options: {
    file: string;
    rotate: RotationOptions;
    writer: string;
    now?: () => number;
  }) {
    if (!(options.rotate.maxBytes > 0))
      throw new TypeError(`Expected rotate.maxBytes > 0, got ${options.rotate.maxBytes}`);
    this.#file = options.file;
    this.#rotate = options.rotate;
    this.#writer = options.writer;
    this.#now = options.now ?? Date.now;
  }

  async #open(): Promise<FileHandle> {
    mkdirSync(dirname(this.#file), { recursive: true });
    const fh = await open(this.#file, 'a', 0o600);
    const st = await fh.stat();
    this.#fh = fh;
    this.#ino = st.ino;
    this.#size = st.size;
    this.#openedAt =
      st.size === 0 ? this.#now() : Math.min(this.#now(), st.birthtimeMs || st.mtimeMs);
    return fh;
  }

  /**
   * The live handle: reopened when another writer rotated the file away. The
   * path is re-checked at most every CHECK_MS, not per batch (a stat per batch
   * costs a thread-pool round trip on every call); until then lines may still
   * go to a file another writer just rotated, which is harmless: every
   * rotated file is part of the trail.
   */
  async #handle(): Promise<FileHandle> {
    if (!this.#fh) return this.#open();
    if (this.#now() - this.#checkedAt < CHECK_MS) return this.#fh;
    this.#checkedAt = this.#now();
    const onDisk = await stat(this.#file).catch(() => undefined);
    if (!onDisk || onDisk.ino !== this.#ino) {
      await this.#fh.close().catch(() => {});
      this.#fh = undefined;
      return this.#open();
    }
    this.#size = onDisk.size;
    return this.#fh;
  }

  async #maybeRotate(incoming: number): Promise<FileHandle> {
    const fh = await this.#handle();
    const tooBig = this.#size > 0 && this.#size + incoming > this.#rotate.maxBytes;
    const tooOld =
      this.#rotate.everySeconds !== undefined &&
      this.#size > 0 &&
      this.#now() - this.#openedAt >= this.#rotate.everySeconds * 1000;
    if (!tooBig && !tooOld) return fh;
    await rename(this.#file, rotatedName(this.#file, new Date(this.#now()), this.#writer)).catch(
      (err: NodeJS.ErrnoException) => {
        // Another writer rotated it first: reopen the new live file.
        if (err.code !== 'ENOENT') throw err;
      },
    );
    await fh.close().catch(() => {});
    this.#fh = undefined;
    return this.#open();
  }

  /**
   * One batch, written with `writeSync` on the handle's fd: a batch is a few
   * hundred bytes into the page cache, far cheaper than a thread-pool round
   * trip, and the caller waits for it anyway (fail closed). Durability is
   * `sync()` (fdatasync, async) per the fsync policy.
   */
  async append(buf: Buffer): Promise<void> {
    const fh = await this.#maybeRotate(buf.length);
    let written = 0;
    try {
      while (written < buf.length) written += writeSync(fh.fd, buf, written, buf.length - written);
      this.#size += written;
    } catch (err) {
      // A short write left part of a line: cut it off again when nobody appended after it.
      if (written > 0) {
        const st = await fh.stat().catch(() => undefined);
        if (st && st.size >= written) await fh.truncate(st.size - written).catch(() => {});
      }
      throw err;
    }
  }

  async sync(): Promise<void> {
    await this.#fh?.datasync();
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}

/** stdout or stderr: no rotation, no rollback; a failed write still fails the records it carried. */
export class FdDestination implements AuditDestination {
  readonly #fd: number;
  constructor(fd: 1 | 2) {
    this.#fd = fd;
  }
  append(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const step = (offset: number): void =>
        writeFd(this.#fd, buf, offset, buf.length - offset, null, (err, n) => {
          if (err) return reject(err);
          if (offset + n < buf.length) return step(offset + n);
          resolve();
        });
      step(0);
    });
  }
  async sync(): Promise<void> {}
  async close(): Promise<void> {}
}
