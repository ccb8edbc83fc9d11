import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('topology').description('validate, apply and draw topology.yaml');
}
