/** Pipeline stages, in order; metrics and spans are named after them. */
export const STAGES = ['resolve', 'verify', 'replay', 'decide', 'govern', 'validate_input', 'lease', 'queue', 'run', 'validate_output'] as const;
export type Stage = (typeof STAGES)[number];

/** Hooks the executor calls so that metrics and tracing stay outside the pipeline. */
export interface ExecutorObserver {
  stage(stage: Stage, toolId: string, ms: number): void;
  outcome(toolId: string, outcome: 'allowed' | 'refused' | 'failed', code: string | undefined, ms: number): void;
}

export const NULL_OBSERVER: ExecutorObserver = { stage() {}, outcome() {} };
