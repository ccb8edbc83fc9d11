#!/usr/bin/env node
// The `tributary` command. Sources are TypeScript run through tsx, so a fresh clone
// needs `npm ci` and nothing else: no build step, no committed output.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../runtime/cli/main.ts');
await main(process.argv);
