import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('dev').description('local stack: Kafka (KRaft), the embedded schema registry and Redis');
}
