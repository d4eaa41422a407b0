import type { CallRef, ExecutorObserver, Stage } from '../ports/observer.ts';

export type { CallRef, ExecutorObserver, Stage };

/** Pipeline stages, in order; metrics and spans are named after them. */
export const STAGES = [
  'resolve',
  'verify',
  'replay',
  'decide',
  'govern',
  'validate_input',
  'lease',
  'queue',
  'run',
  'validate_output',
] as const satisfies readonly Stage[];

export const NULL_OBSERVER: ExecutorObserver = { stage() {}, outcome() {} };
