// `telemetry.tracing` in the config: off by default, parsed strictly, and no exporter without it.
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startTracing } from '../../src/telemetry/tracing.ts';

const parse = (tracing: unknown) =>
  parseConfig({ telemetry: { tracing } }, 'toolcage.config.yaml', '/tmp');
const refusal = (tracing: unknown): string => {
  try {
    parse(tracing);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

it('tracing is off by default, and off means no tracer provider and no observer', () => {
  const { config } = parseConfig({}, 'toolcage.config.yaml', '/tmp');
  expect(config.telemetry.tracing).toEqual({ enabled: false, serviceName: 'toolcage-runner' });
  expect(startTracing(config.telemetry.tracing)).toBeUndefined();
});

it('accepts an http or https OTLP endpoint, a service name and a sample ratio', () => {
  expect(
    parse({
      enabled: true,
      otlpEndpoint: 'https://otel.example:4318/v1/traces',
      serviceName: 'runner-eu',
      sampleRatio: 0.25,
    }).config.telemetry.tracing,
  ).toEqual({
    enabled: true,
    otlpEndpoint: 'https://otel.example:4318/v1/traces',
    serviceName: 'runner-eu',
    sampleRatio: 0.25,
  });
});

it('refuses an endpoint that is not http(s), or that carries credentials in the URL', () => {
  expect(refusal({ enabled: true, otlpEndpoint: 'ftp://collector/v1/traces' })).toMatch(
    /telemetry\.tracing\.otlpEndpoint.*must be an http or https URL/s,
  );
  expect(refusal({ enabled: true, otlpEndpoint: 'not a url' })).toMatch(
    /must be an http or https URL/,
  );
  expect(refusal({ enabled: true, otlpEndpoint: 'https://user:pw@collector/v1/traces' })).toMatch(
    /must not carry a user name or password; pass collector credentials in OTEL_EXPORTER_OTLP_HEADERS/,
  );
});

it('refuses a sample ratio of zero or above one (zero is spelled enabled: false) and unknown keys', () => {
  expect(refusal({ enabled: true, sampleRatio: 0 })).toMatch(/sampleRatio/);
  expect(refusal({ enabled: true, sampleRatio: 1.5 })).toMatch(/sampleRatio/);
  expect(refusal({ enabled: true, exporter: 'console' })).toMatch(/exporter/);
});
