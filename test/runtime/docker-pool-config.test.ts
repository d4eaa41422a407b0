// `sandbox.docker.poolMaxStarting` in the config: optional (the backend's default, max(poolSize, 8)),
// parsed strictly; below `poolSize` is allowed (the pool then fills in waves).
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const parse = (docker: unknown) =>
  parseConfig({ sandbox: { docker } }, 'toolcage.config.yaml', '/tmp').config.sandbox.docker;
const refusal = (docker: unknown): string => {
  try {
    parse(docker);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

it('is absent by default, so the Docker backend keeps its own default', () => {
  expect(parse({}).poolMaxStarting).toBeUndefined();
});

it('accepts a cap below, at or above poolSize', () => {
  expect(parse({ poolSize: 4, poolMaxStarting: 2 }).poolMaxStarting).toBe(2);
  expect(parse({ poolSize: 4, poolMaxStarting: 4 })).toMatchObject({
    poolSize: 4,
    poolMaxStarting: 4,
  });
  expect(parse({ poolMaxStarting: 32 }).poolMaxStarting).toBe(32);
});

it('refuses zero, a fraction or one past 256, naming the key', () => {
  for (const bad of [0, 1.5, 257, '8'])
    expect(refusal({ poolMaxStarting: bad })).toMatch(/sandbox\.docker\.poolMaxStarting/);
});
