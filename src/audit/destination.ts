import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { write as writeFd } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z\./;

/**
 * The time to name the next rotation by: now, or just after the newest
 * rotation already there. Rotated files are ordered by name (the writer's
 * suffix only breaks ties), so two rotations in the same millisecond, by two
 * writers or by one, would otherwise sort by writer name, or the second
 * would replace the first.
 */
function nextStamp(file: string, now: number): number {
  const base = `${basename(file)}.`;
  let latest = -Infinity;
  for (const name of readdirSync(dirname(file))) {
    const m = name.startsWith(base) ? STAMP.exec(name.slice(base.length)) : null;
    if (m)
      latest = Math.max(
        latest,
        Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!),
      );
  }
  return Math.max(now, latest + 1);
}

/** A lock left by a writer that died while rotating is broken after this long. */
const STALE_LOCK_MS = 10_000;

/** Takes the rotation lock (a file made with O_EXCL), breaking one left behind by a dead writer. */
function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs < STALE_LOCK_MS) return false;
      rmSync(lock, { force: true });
    }
  }
  return false;
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
    if (!this.#rotateAway()) return fh;
    await fh.close().catch(() => {});
    this.#fh = undefined;
    return this.#open();
  }

  /**
   * Renames the live file to its rotated name, if it is still the file this
   * writer holds; false when another writer is rotating right now (this batch
   * then goes to the file this writer has, and the next one tries again).
   *
   * Rotated files are read back in name order, so the names must follow the
   * order the files were written in. Writers (processes) rotate one at a time,
   * under a lock file made with O_EXCL, and check, name and rename back to
   * back, synchronously: a writer whose view is stale (another writer rotated,
   * and newer records already went to the next file) must not rename that
   * newer file; and a rename queued behind slow `fdatasync`s on the thread
   * pool, or racing another writer's, would land after a later rotation while
   * carrying an earlier time in its name. Rotation is rare; the calls are cheap.
   */
  #rotateAway(): boolean {
    const lock = join(dirname(this.#file), `.${basename(this.#file)}.rotating`);
    if (!takeLock(lock)) return false;
    try {
      const onDisk = statSync(this.#file, { throwIfNoEntry: false });
      if (!onDisk || onDisk.ino !== this.#ino) return true; // another writer rotated it first
      const at = new Date(nextStamp(this.#file, this.#now()));
      renameSync(this.#file, rotatedName(this.#file, at, this.#writer));
      return true;
    } finally {
      rmSync(lock, { force: true });
    }
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
