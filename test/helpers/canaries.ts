/**
 * The canary values tests hand to the system as argument values and
 * credentials. None may ever appear in a line the system writes (audit
 * trails, service logs): the suite's teardown (test/helpers/suite-setup.ts)
 * scans every such line written by the run for them, and for any compact JWS
 * (claims, DPoP proofs, identity tokens) other than the trail's own
 * checkpoints. docs/audit.md ("The canary scan") states the scope.
 */

/** An argument value (a tool's input). */
export const CANARY_ARG = 'tcanary-arg-5b1e0c9d7f';

/** A credential value (a static lane's secret, an approval webhook secret). */
export const CANARY_SECRET = 'tcanary-secret-a83f26d1e4c0b7';

/** A broker API key (the `x-api-key` a service presents; only its sha256 is configured). */
export const CANARY_API_KEY = 'tck_tcanary_apikey_7d2e9c41b6';

/** Every fixed canary the scan looks for. */
export const CANARIES: readonly string[] = [CANARY_ARG, CANARY_SECRET, CANARY_API_KEY];

/** A text carrying the argument canary, with a known word count (3) for `text.word_count`. */
export const CANARY_TEXT = `one two ${CANARY_ARG}`;
