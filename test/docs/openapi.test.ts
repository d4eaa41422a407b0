// The OpenAPI 3.1 document lists exactly the routes each service registers, is served at
// GET /openapi.json by both services, and the committed docs/openapi.json is the current one.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { expect, it } from 'vitest';
import { buildBrokerApp } from '../../src/http/broker-app.ts';
import { openApiDocument, ROUTES } from '../../src/http/openapi.ts';
import { buildRunnerApp } from '../../src/http/runner-app.ts';
import { TOOLCAGE_VERSION } from '../../src/util/version.ts';

/** Routes are only registered here, never called: the collaborators are not reached. */
function apps(): Record<'runner' | 'broker', FastifyInstance> {
  const executor = { listTools: () => [], readiness: () => Promise.resolve({}) };
  return {
    runner: buildRunnerApp(executor as never, {
      metrics: {} as never,
      runnerJwks: () => ({ keys: [] }),
      logLevel: 'silent',
    }),
    broker: buildBrokerApp({
      broker: {} as never,
      auth: {} as never,
      policy: {} as never,
      registry: () => ({}) as never,
      // `toolcage broker serve` always serves GET /v1/governors (runtime/broker-service.ts).
      governors: {} as never,
      logLevel: 'silent',
    }),
  };
}

/** `METHOD /path` of every route an app registered (HEAD twins left out), from fastify's route tree. */
function registered(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.indexOf('/');
    if (at < 0) continue;
    const level = (at - 4) / 4;
    const m = /^(\S+) \(([A-Z, ]+)\)$/.exec(line.slice(at));
    if (!m) continue;
    stack.length = level;
    stack.push(m[1]!);
    for (const method of m[2]!.split(', '))
      if (method !== 'HEAD') out.push(`${method} ${stack.join('').replace(/:(\w+)/g, '{$1}')}`);
  }
  return out.sort();
}

it('documents exactly the routes each service registers', async () => {
  for (const [service, app] of Object.entries(apps())) {
    await app.ready();
    const documented = ROUTES.filter((r) => r.service === service || r.service === 'both')
      .map((r) => `${r.method.toUpperCase()} ${r.path}`)
      .sort();
    expect(registered(app), service).toEqual(documented);
    await app.close();
  }
});

it('is served at GET /openapi.json by both services, and docs/openapi.json is current', async () => {
  const committed = readFileSync(
    fileURLToPath(new URL('../../docs/openapi.json', import.meta.url)),
    'utf8',
  );
  const current = openApiDocument(TOOLCAGE_VERSION);
  expect(JSON.parse(committed), 'docs/openapi.json is stale: run `npm run docs:gen`').toEqual(
    current,
  );
  expect(current.openapi).toBe('3.1.0');
  for (const app of Object.values(apps())) {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(current);
    await app.close();
  }
});
