/**
 * toolcage — the library API. Node-only servers are on subpath exports:
 * `toolcage/http` (runner and broker services) and `toolcage/mcp` (the MCP
 * server and `registerToolcageTools` for existing SDK servers).
 *
 * @example
 * ```ts
 * import { loadConfig, createRunner, createBrokerRuntime } from 'toolcage';
 * const loaded = loadConfig('toolcage.config.yaml');
 * const runner = await createRunner(loaded);
 * const { broker } = await createBrokerRuntime(loaded, { stores: runner.stores, registry: runner.registry });
 * const { claim } = await broker.issueClaim({ tool: 'text.word_count', args, sub: 'alice', roles: ['analyst'], tenant: 'acme' });
 * const { result } = await runner.executor.execute({ toolId: 'text.word_count', args, claim, requestId: 'r1' });
 * ```
 */
export {
  ERROR_CATALOGUE,
  CONTRACT_CODES,
  isErrorCode,
  httpStatusOf,
  type ErrorCode,
} from './errors/catalogue.ts';
export {
  ToolcageError,
  isToolcageError,
  toToolcageError,
  type ToolcageErrorOptions,
} from './errors/toolcage-error.ts';
export { loadConfig, parseConfig, type LoadedConfig } from './config/load.ts';
export { configSchema, type ToolcageConfig } from './config/schema.ts';
export { createRunner, loadRegistry, type Runner, type RunnerOptions } from './runtime/runner.ts';
export { createBrokerRuntime, type BrokerRuntime } from './runtime/broker.ts';
export { openStateStores, type StateStores } from './runtime/state.ts';
export { ToolcageExecutor, type ExecutorOptions } from './executor/executor.ts';
export type { ExecuteCall, ExecuteOutcome, Executor, ToolSummary } from './ports/execute.ts';
export type { CallRef, ExecutorObserver, Stage } from './executor/observer.ts';
export {
  TracingObserver,
  SPAN_ATTRIBUTES,
  type TracingObserverOptions,
} from './telemetry/tracing-observer.ts';
export type { ConcurrencyGate, GovernorGate } from './ports/gates.ts';
export type { CredentialLease, CredentialProvider } from './ports/credentials.ts';
export type { DpopVerifier } from './ports/claims.ts';
export { Registry, type LoadedTool, type RegistryOptions } from './registry/registry.ts';
export { buildLock, writeSignedLock } from './registry/lock-build.ts';
export { verifyRegistry } from './registry/verify.ts';
export { parseManifest, manifestSchema, type Manifest } from './registry/manifest.ts';
export { argsHash, canonicalJson, sha256Hex } from './util/hash.ts';
export { ClaimVerifier, translateJoseError, type ClaimVerifierOptions } from './claims/verify.ts';
export type { ClaimPayload, VerifiedClaim } from './claims/claim.ts';
export { createKeyResolver, type TrustedKeysConfig } from './claims/key-source.ts';
export {
  generateSigningKey,
  loadSigningKey,
  loadJwksFile,
  ALLOWED_ALGS,
  type SigningKey,
  type SigningAlg,
} from './claims/keys.ts';
export { MemoryReplayStore, type ReplayStore } from './claims/replay-store.ts';
export { DpopProofVerifier, createDpopProof } from './claims/dpop.ts';
export {
  Broker,
  type BrokerOptions,
  type ClaimRequest,
  type IssuedClaim,
} from './broker/broker.ts';
export {
  parsePolicy,
  loadPolicy,
  decide,
  type Policy,
  type PolicyDecision,
} from './broker/policy.ts';
export {
  MemoryApprovalStore,
  type ApprovalStore,
  type ApprovalRecord,
  type ApprovalEnvelope,
  type ApprovalFilter,
  type ApprovalStatus,
} from './broker/approval-store.ts';
export {
  ApprovalService,
  type OpenRequest,
  type DecideRequest,
} from './broker/approval-service.ts';
export { type Actor } from './broker/approval-rules.ts';
export { approvalView, maskArgs, type ApprovalView } from './broker/approval-view.ts';
export { ApprovalWebhook, signWebhook } from './broker/approval-webhook.ts';
export { Governors } from './governors/governors.ts';
export { ConcurrencyLimiter } from './governors/concurrency.ts';
export { governorsConfigSchema, type GovernorsConfig } from './governors/config.ts';
export {
  governorReport,
  governorReporter,
  type GovernorReport,
  type GovernorReporter,
  type TenantGovernorReport,
} from './governors/report.ts';
export {
  PinoAuditSink,
  MemoryAuditSink,
  NullAuditSink,
  recordDecision,
  type AuditEvent,
  type AuditEntry,
  type AuditHealth,
  type AuditSink,
} from './audit/audit.ts';
export { ChainedAuditSink, type ChainedAuditSinkOptions } from './audit/chained-sink.ts';
export { FileDestination, FdDestination, type AuditDestination } from './audit/destination.ts';
export { openAuditSink } from './runtime/audit.ts';
export { verifyAuditFiles, type VerifyReport, type Finding } from './audit/verify.ts';
export { queryAudit, type AuditQuery, type AuditPage } from './audit/query.ts';
export { toOcsf } from './audit/ocsf.ts';
export type {
  SandboxBackend,
  RunRequest,
  RunResult,
  RunLimits,
  SandboxTool,
} from './ports/sandbox.ts';
export {
  createIsolatedVmBackend,
  type IsolatedVmBackendOptions,
} from './sandbox/isolated-vm/index.ts';
export {
  createDockerBackend,
  imageContentIdentity,
  buildAllImages,
  type DockerBackendOptions,
} from './sandbox/docker/index.ts';
export { LeakScanner } from './validation/leak-scan.ts';
