/**
 * Canary values: what tests hand to the system as argument values and
 * credentials. Each holds the marker `tcanary`, and no line the system writes
 * (audit trails, service logs) may ever hold it: the suite's teardown
 * (test/helpers/suite-setup.ts) scans every such line written by the run for
 * the marker, and for any compact JWS (claims, DPoP proofs, identity tokens)
 * other than the trail's own checkpoints. docs/audit.md ("The canary scan")
 * states the scope.
 *
 * A test with its own secret makes it a canary with `canary('what')`, or puts
 * `CANARY_MARK` in it where the value needs a given shape.
 */

/** The marker every canary holds; the scan looks for it alone. */
export const CANARY_MARK = 'tcanary';

/** A canary value naming what it stands for: `tcanary-<what>-<random>`. */
export function canary(what: string): string {
  return `${CANARY_MARK}-${what}-${Math.random().toString(36).slice(2, 10)}`;
}

/** An argument value (a tool's input). */
export const CANARY_ARG = 'tcanary-arg-5b1e0c9d7f';

/** A credential value (a static lane's secret, an approval webhook secret). */
export const CANARY_SECRET = 'tcanary-secret-a83f26d1e4c0b7';

/** A broker API key (the `x-api-key` a service presents; only its sha256 is configured). */
export const CANARY_API_KEY = 'tck_tcanary_apikey_7d2e9c41b6';

/** What the scan looks for: the marker (so every canary, fixed or made by `canary()`). */
export const CANARIES: readonly string[] = [CANARY_MARK];

/** A text carrying the argument canary, with a known word count (3) for `text.word_count`. */
export const CANARY_TEXT = `one two ${CANARY_ARG}`;
