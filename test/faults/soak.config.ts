/**
 * vitest config of the soak (reliability scenario 9): `npm run test:soak` runs test/faults/*.soak.ts
 * with it, against the same stack as the integration tests (their global setup). vitest.config.ts
 * never picks these files up: its projects take `*.test.ts` and `*.int.test.ts`, so `npm test`
 * does not run the soak.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    name: 'soak',
    include: ['test/faults/*.soak.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    fileParallelism: false,
    // 15 minutes of traffic (900,000 events), then the drain and the checker, which holds every
    // record of every topic of the run at once: 1.6 GB of heap after a 2-minute run, so ~12 GB at 15.
    execArgv: ['--max-old-space-size=16384'],
    testTimeout: 4 * 3_600_000,
    hookTimeout: 600_000,
  },
});
