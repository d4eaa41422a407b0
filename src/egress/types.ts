/** What crosses the egress boundary: a lane's grant, a tool's request and its response, the log line, the limits. */
import type { LaneHost } from './lane-host.ts';

/** A credential the boundary adds to requests bound for its lane's hosts. */
export interface EgressGrant {
  lane: string;
  /** Where the value may go: host, port and scheme (https unless a loopback test lane says http). */
  hosts: readonly LaneHost[];
  /** What to do with a response that echoes the request's headers (default `scan`; see the lane config). */
  reflection?: 'scan' | 'strip' | 'refuse' | undefined;
  /** Header name, e.g. `Authorization`. */
  header: string;
  /** The whole header value, e.g. `Bearer <token>`. */
  headerValue: string;
  /** The raw secret, for leak scans. */
  secret: string;
}

/** What a tool asks for (JSON over the bridge, or parsed from the proxy's request). */
export interface EgressRequest {
  url: string;
  method?: string;
  headers?: Record<string, string> | Array<[string, string]>;
  /** UTF-8 text. */
  body?: string;
}

export interface EgressResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** The body as UTF-8 text. */
  body: string;
  url: string;
}

/** One line of the egress log. Names hosts, lanes and sizes; never a header value, a body or a path. */
export interface EgressEvent {
  invocationId: string;
  toolId: string;
  method: string;
  host: string;
  port: number;
  outcome: 'sent' | 'refused' | 'failed';
  status?: number;
  reason?: string;
  /** Lanes whose credential was added to this request. */
  injected: string[];
  responseBytes?: number;
  durationMs: number;
}

export interface EgressLimits {
  /** Per response body (default 1 MiB). */
  maxResponseBytes: number;
  /** Per request body (default 256 KiB). */
  maxRequestBytes: number;
  /** Per request, further capped by the run's deadline (default 10 000). */
  requestTimeoutMs: number;
  /** Per run (default 32). */
  maxRequestsPerRun: number;
}

export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  maxResponseBytes: 1024 * 1024,
  maxRequestBytes: 256 * 1024,
  requestTimeoutMs: 10_000,
  maxRequestsPerRun: 32,
};
