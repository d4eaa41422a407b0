import { defineConfig } from 'vitest/config';

// The Docker security suite runs once per OCI runtime (gVisor's runsc, then runc): every guarantee
// must hold under both. test/sandbox/docker/helpers.ts reads the runtime from the project's env.
const dockerSecurity = 'test/security/docker-*.test.ts';

// Sandbox tests can crash or hang a process: each test file runs in its own
// forked worker. Two cores: at most two files at once.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // One suite root for every test's temporary files, and the canary scan over what the system
    // wrote there when the run ends (docs/audit.md, "The canary scan").
    globalSetup: ['test/helpers/suite-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts'],
          exclude: [dockerSecurity, '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'docker-runsc',
          include: [dockerSecurity],
          env: { TOOLCAGE_TEST_DOCKER_RUNTIME: 'runsc' },
        },
      },
      {
        extends: true,
        test: {
          name: 'docker-runc',
          include: [dockerSecurity],
          env: { TOOLCAGE_TEST_DOCKER_RUNTIME: 'runc' },
        },
      },
    ],
  },
});
