import { createHash } from 'node:crypto';

/** One entry of a deterministic root filesystem. Paths are absolute inside the image ("/bin/sh"). */
export type RootfsEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

/**
 * Writes a POSIX ustar archive that depends only on the entries' contents:
 * entries sorted by path (a parent always sorts before its children, being
 * a prefix), mtime 0, owner 0:0 numeric with empty user/group names, modes
 * as given. The same entries always give the same bytes, so the layer's
 * diff id (sha256 of the uncompressed tar) is a content identity.
 */
export function deterministicTar(entries: readonly RootfsEntry[]): Buffer {
  const seen = new Set<string>();
  const sorted = [...entries].sort((a, b) =>
    tarName(a) < tarName(b) ? -1 : tarName(a) > tarName(b) ? 1 : 0,
  );
  const blocks: Buffer[] = [];
  for (const entry of sorted) {
    const name = tarName(entry);
    if (seen.has(name)) throw new Error(`duplicate rootfs entry ${entry.path}`);
    seen.add(name);
    const size = entry.type === 'file' ? entry.data.length : 0;
    blocks.push(header(entry, name, size));
    if (entry.type === 'file') {
      blocks.push(entry.data);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

/** hex sha256 of a buffer. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function tarName(entry: RootfsEntry): string {
  if (
    !entry.path.startsWith('/') ||
    entry.path.includes('//') ||
    entry.path.split('/').includes('..')
  ) {
    throw new Error(`rootfs paths must be absolute and normalised, got ${entry.path}`);
  }
  const rel = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
  return entry.type === 'dir' ? `${rel}/` : rel;
}

function header(entry: RootfsEntry, name: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100)
    throw new Error(`rootfs path too long for ustar: ${entry.path}`);
  h.write(name, 0, 100, 'utf8');
  const mode = entry.type === 'symlink' ? 0o777 : entry.mode;
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder
  h.write(entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0', 156, 1, 'ascii');
  if (entry.type === 'symlink') {
    if (Buffer.byteLength(entry.target) > 100)
      throw new Error(`symlink target too long: ${entry.target}`);
    h.write(entry.target, 157, 100, 'utf8');
  }
  h.write('ustar\u0000', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return h;
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}
