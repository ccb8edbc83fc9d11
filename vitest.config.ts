import { defineConfig } from 'vitest/config';

// Fault scenarios that start a broker of their own (restarts, a proxy in front of it): minutes
// each, so they run in `npm run test:faults` (TRIBUTARY_FAULTS=full), not in `npm test`, which
// has to stay under CI's 20 minutes on 2 cores with every integration file run one at a time.
const OWN_BROKER_SCENARIOS = ['test/faults/broker.int.test.ts', 'test/faults/network.int.test.ts'];
const FAULTS_ONLY = process.env.TRIBUTARY_FAULTS === 'full' ? [] : OWN_BROKER_SCENARIOS;

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
          exclude: ['**/node_modules/**', ...FAULTS_ONLY],
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
