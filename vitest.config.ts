import { defineConfig } from 'vitest/config';

// Two tiers (STYLE.md): `unit` is broker-free and parallel; `integration` talks to the one real
// stack started in global setup, runs files one at a time and allows long timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{runtime,processors,producers,sinks,test}/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{runtime,processors,producers,sinks,test}/**/*.int.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          // Components run in-process by the end-to-end tests log through pino: keep it to warnings.
          env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
