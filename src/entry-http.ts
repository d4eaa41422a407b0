/** `toolcage/http`: the runner and broker HTTP services (fastify). */
export { buildRunnerApp, type RunnerAppOptions } from './http/runner-app.ts';
export { createRunnerService, type RunnerService } from './runtime/runner-service.ts';
export { createBrokerService, type BrokerService } from './runtime/broker-service.ts';
