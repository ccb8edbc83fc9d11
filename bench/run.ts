/**
 * `npm run bench [-- --quick …]`: `tributary bench` (runtime/cli/commands/bench.ts), with the
 * CLI's one-line errors and exit codes.
 */
import { main } from '../runtime/cli/main';

await main([process.argv[0] as string, 'tributary', 'bench', ...process.argv.slice(2)]);
