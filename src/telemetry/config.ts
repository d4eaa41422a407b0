import { z } from 'zod';

/**
 * Where spans go: an OTLP/HTTP traces URL. Credentials in the URL are refused
 * (the config file is not a secret store); a collector that needs a token gets
 * it from the standard `OTEL_EXPORTER_OTLP_HEADERS` environment variable.
 */
const otlpEndpoint = z
  .url({
    protocol: /^https?$/,
    error:
      'must be an http or https URL (the OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces)',
  })
  .refine(
    (u) => {
      // zod runs refinements after a failed format check too: an unparsable URL is already reported.
      const url = URL.canParse(u) ? new URL(u) : undefined;
      return url === undefined || (url.username === '' && url.password === '');
    },
    {
      message:
        'must not carry a user name or password; pass collector credentials in OTEL_EXPORTER_OTLP_HEADERS',
    },
  );

/**
 * `telemetry` in `toolcage.config.yaml`. Tracing is off unless the file says
 * `enabled: true`; spans carry the tool id, request id, stage, outcome and
 * error code only, never arguments, claims, outputs or credentials.
 *
 * @example
 * ```yaml
 * telemetry:
 *   tracing: { enabled: true, otlpEndpoint: http://127.0.0.1:4318/v1/traces, sampleRatio: 0.1 }
 * ```
 */
export const telemetryConfigSchema = z.strictObject({
  tracing: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Absent: the exporter's standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, else http://localhost:4318/v1/traces. */
      otlpEndpoint: otlpEndpoint.optional(),
      serviceName: z.string().min(1).max(256).default('toolcage-runner'),
      /** The share of calls traced, in (0, 1]; absent: every call. To trace none, set `enabled: false`. */
      sampleRatio: z.number().gt(0).max(1).optional(),
    })
    .prefault({}),
});

export type TelemetryConfig = z.infer<typeof telemetryConfigSchema>;
export type TracingConfig = TelemetryConfig['tracing'];
