import type { CallRef, ExecutorObserver, Stage } from '../ports/observer.ts';

export type { CallRef, ExecutorObserver, Stage };

/**
 * Pipeline stages, in order; metrics and spans are named after them. `decide`
 * (the claim bound to the call) comes before `replay`, the admission that
 * spends the jti and decides the governors in one step; `govern` turns a
 * refused plan into its error.
 */
export const STAGES = [
  'resolve',
  'verify',
  'decide',
  'replay',
  'govern',
  'validate_input',
  'lease',
  'queue',
  'run',
  'validate_output',
] as const satisfies readonly Stage[];

export const NULL_OBSERVER: ExecutorObserver = { stage() {}, outcome() {} };
