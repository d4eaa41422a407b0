/**
 * The composition roots the CLI's commands start, loaded when a command runs
 * rather than when the command tree is built: `toolcage serve` then never
 * loads the broker (Cedar, the OpenTelemetry API it tags audit lines with),
 * `toolcage broker mint` never loads fastify, and `--help` loads neither.
 * Each wrapper has the exact type of the function it stands for.
 */
import type * as Runtime from '../runtime/broker.ts';
import type * as RunnerRoot from '../runtime/runner.ts';
import type * as RunnerServiceRoot from '../runtime/runner-service.ts';
import type * as BrokerServiceRoot from '../runtime/broker-service.ts';

export const createBrokerRuntime: typeof Runtime.createBrokerRuntime = async (...args) =>
  (await import('../runtime/broker.ts')).createBrokerRuntime(...args);

export const createRunner: typeof RunnerRoot.createRunner = async (...args) =>
  (await import('../runtime/runner.ts')).createRunner(...args);

export const createRunnerService: typeof RunnerServiceRoot.createRunnerService = async (...args) =>
  (await import('../runtime/runner-service.ts')).createRunnerService(...args);

export const createBrokerService: typeof BrokerServiceRoot.createBrokerService = async (...args) =>
  (await import('../runtime/broker-service.ts')).createBrokerService(...args);

export const loadRegistry: typeof RunnerRoot.loadRegistry = async (...args) =>
  (await import('../runtime/runner.ts')).loadRegistry(...args);
