/**
 * Finds a run's credential values in text the agent (or a log) would see,
 * raw and in the encodings a tool could use to smuggle them out: JSON
 * escaping, base64, base64url (at each of the three byte alignments, so a
 * secret embedded in a longer encoded blob is still found), hex (either
 * case) and URL-encoding.
 */
export class LeakScanner {
  readonly #needles: string[];
  readonly #lowerNeedles: string[];

  constructor(secrets: readonly string[]) {
    const needles = new Set<string>();
    const lower = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < 8) continue; // too short to scan without false positives; lanes refuse such secrets
      const bytes = Buffer.from(secret, 'utf8');
      needles.add(secret);
      needles.add(JSON.stringify(secret).slice(1, -1));
      needles.add(encodeURIComponent(secret));
      for (const core of base64Cores(bytes)) {
        needles.add(core);
        needles.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
      }
      lower.add(bytes.toString('hex'));
    }
    this.#needles = [...needles].filter((n) => n.length >= 8);
    this.#lowerNeedles = [...lower];
  }

  get empty(): boolean {
    return this.#needles.length === 0 && this.#lowerNeedles.length === 0;
  }

  /** True when any encoding of any secret occurs in `text`. */
  found(text: string): boolean {
    if (this.empty || text.length === 0) return false;
    for (const n of this.#needles) if (text.includes(n)) return true;
    const lowered = text.toLowerCase();
    for (const n of this.#lowerNeedles) if (lowered.includes(n)) return true;
    return false;
  }
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
