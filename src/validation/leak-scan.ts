/**
 * Finds a run's credential values in text the agent (or a log) would see:
 * a tool's output, or a response coming back through the egress boundary.
 *
 * What it finds, for each secret, the secret reversed, and both in rot13:
 * - raw, JSON-escaped, URL-encoded, base64 and base64url (at each of the
 *   three byte alignments, so a secret inside a longer encoded blob is still
 *   found), hex and base32 (either case, base32 at each of its five
 *   alignments);
 * - the same after undoing one layer of `\uXXXX`, `\u{…}`, `\xXX`, `%XX` and
 *   HTML character-reference escapes (a per-character escaped echo);
 * - the same with every character that is not a letter or a digit removed
 *   from both sides (a secret split by spaces, punctuation, line breaks,
 *   JSON array syntax or header boundaries), for secrets with at least 12
 *   letters and digits, so that short ones give no false positives.
 *
 * What it cannot find: a transform it does not know (XOR, a cipher, a shift),
 * pieces spread over several texts (one per response or per call), or pieces
 * separated by letters or digits. A tool that holds a value can always
 * transform it past a scan; that is why lanes default to `expose: egress`.
 */
export class LeakScanner {
  readonly #exact: string[];
  readonly #lower: string[];
  readonly #skeleton: string[];
  readonly #lowerSkeleton: string[];
  /** Secret forms long enough to be found in two pieces: as they are, and as skeletons. */
  readonly #halves: string[];
  readonly #skeletonHalves: string[];

  constructor(secrets: readonly string[]) {
    const exact = new Set<string>();
    const lower = new Set<string>();
    const skeleton = new Set<string>();
    const lowerSkeleton = new Set<string>();
    const halves = new Set<string>();
    const skeletonHalves = new Set<string>();
    // A needle whose skeleton is long enough is looked for as a skeleton only: text that holds
    // the needle holds its skeleton too, so the exact search would add nothing but time.
    const add = (needle: string): void => {
      const s = skel(needle);
      if (s.length >= MIN_SKELETON) skeleton.add(s);
      else if (needle.length >= 8) exact.add(needle);
    };
    const addCaseless = (needle: string): void => {
      if (needle.length >= MIN_SKELETON) lowerSkeleton.add(needle.toLowerCase());
      else if (needle.length >= 8) lower.add(needle.toLowerCase());
    };
    for (const secret of secrets) {
      if (secret.length < 8) continue; // too short to scan without false positives; lanes refuse such secrets
      const bytes = Buffer.from(secret, 'utf8');
      add(secret);
      add(JSON.stringify(secret).slice(1, -1));
      add(encodeURIComponent(secret));
      for (const core of base64Cores(bytes)) {
        add(core);
        add(core.replace(/\+/g, '-').replace(/\//g, '_'));
      }
      addCaseless(bytes.toString('hex'));
      for (const core of base32Cores(bytes)) addCaseless(core);
      const reversed = [...secret].reverse().join('');
      for (const form of [reversed, rot13(secret), rot13(reversed)]) add(form);
      for (const form of [secret, reversed]) {
        if (form.length >= MIN_SPLIT) halves.add(form);
        if (skel(form).length >= MIN_SPLIT) skeletonHalves.add(skel(form));
      }
    }
    this.#exact = [...exact];
    this.#lower = [...lower];
    this.#skeleton = [...skeleton];
    this.#lowerSkeleton = [...lowerSkeleton];
    this.#halves = [...halves];
    this.#skeletonHalves = [...skeletonHalves];
  }

  get empty(): boolean {
    return (
      this.#exact.length === 0 &&
      this.#lower.length === 0 &&
      this.#skeleton.length === 0 &&
      this.#lowerSkeleton.length === 0
    );
  }

  /** True when any known form of any secret occurs in `text`. */
  found(text: string): boolean {
    if (this.empty || text.length === 0) return false;
    const unescaped = unescapeOnce(text);
    const views = unescaped === text ? [text] : [text, unescaped];
    for (const view of views) {
      for (const n of this.#exact) if (view.includes(n)) return true;
      if (this.#lower.length > 0) {
        const lowered = view.toLowerCase();
        for (const n of this.#lower) if (lowered.includes(n)) return true;
      }
      const s = skel(view);
      for (const n of this.#skeleton) if (s.includes(n)) return true;
      if (this.#lowerSkeleton.length > 0) {
        const ls = s.toLowerCase();
        for (const n of this.#lowerSkeleton) if (ls.includes(n)) return true;
      }
      for (const n of this.#halves) if (inTwoPieces(n, view)) return true;
      for (const n of this.#skeletonHalves) if (inTwoPieces(n, s)) return true;
    }
    return false;
  }
}

/** Letters and digits a secret must keep after `skel` to be matched that way (fewer would match chance text). */
const MIN_SKELETON = 12;

/** Secrets at least this long are also looked for as two pieces anywhere in the text. */
const MIN_SPLIT = 16;

/**
 * Whether `text` holds some prefix and the rest of `needle` (in any order,
 * anything between): the longest prefix present and the longest suffix
 * present cover the needle. Unrelated text shares only a few characters
 * with either end of a long secret, so it never covers it.
 */
function inTwoPieces(needle: string, text: string): boolean {
  const prefix = longestEnd(needle, text, 'prefix');
  if (prefix < SEED) return false;
  return prefix + longestEnd(needle, text, 'suffix') >= needle.length;
}

/** Characters a piece must share with an end of the secret to count (and where the search starts). */
const SEED = 4;

/**
 * The longest prefix (or suffix) of `needle` that occurs in `text`: every
 * occurrence of its first (last) SEED characters is extended as far as it
 * matches. One pass over the text; occurrences of the seed are rare.
 */
function longestEnd(needle: string, text: string, end: 'prefix' | 'suffix'): number {
  const seed = end === 'prefix' ? needle.slice(0, SEED) : needle.slice(-SEED);
  let best = 0;
  for (let at = text.indexOf(seed); at !== -1; at = text.indexOf(seed, at + 1)) {
    let k = SEED;
    if (end === 'prefix') {
      while (k < needle.length && text[at + k] === needle[k]) k++;
    } else {
      const last = at + SEED - 1; // where the needle's last character sits in the text
      while (k < needle.length && text[last - k] === needle[needle.length - 1 - k]) k++;
    }
    if (k > best) best = k;
    if (best === needle.length) break;
  }
  return best;
}

function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

/** Only the ASCII letters and digits. */
function skel(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '');
}

/** One layer of the escapes a reflecting host (or a tool) may use, undone. */
function unescapeOnce(text: string): string {
  if (!/[\\%&]/.test(text)) return text;
  const char = (code: number): string =>
    Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  return text
    .replace(/\\u\{([0-9a-fA-F]{1,6})\}/g, (_m, h: string) => char(parseInt(h, 16)))
    .replace(/\\u([0-9a-fA-F]{4})/g, (_m, h: string) => char(parseInt(h, 16)))
    .replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => char(parseInt(h, 16)))
    .replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => char(parseInt(h, 16)))
    .replace(/&#[xX]([0-9a-fA-F]{1,6});/g, (_m, h: string) => char(parseInt(h, 16)))
    .replace(/&#([0-9]{1,7});/g, (_m, d: string) => char(parseInt(d, 10)));
}

/** The base64 characters determined by `bytes` alone, for each alignment of `bytes` inside a longer blob. */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64').replace(/=+$/, '');
    const start = offset === 0 ? 0 : 4; // the first group mixes prefix bytes
    const fullGroups = Math.floor(padded.length / 3) * 4; // the last partial group may mix suffix bytes
    const end = offset === 0 && padded.length % 3 === 0 ? encoded.length : fullGroups;
    const core = encoded.slice(start, end);
    if (core.length >= 8) cores.push(core);
  }
  return cores;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding. */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Like base64Cores, for base32's 5-byte groups of 8 characters. */
function base32Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 5; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = base32(padded);
    const start = offset === 0 ? 0 : 8;
    const end = Math.floor(padded.length / 5) * 8;
    const core = encoded.slice(
      start,
      offset === 0 && padded.length % 5 === 0 ? encoded.length : end,
    );
    if (core.length >= 8) cores.push(core);
  }
  return cores;
}
