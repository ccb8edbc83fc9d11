import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('registry').description('the embedded Confluent-compatible schema registry');
}
