#!/usr/bin/env node
// `kiln <command>`: Kiln's command line (src/cli.ts), run through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exit(await main(process.argv.slice(2)));
