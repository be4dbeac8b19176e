#!/usr/bin/env node
// The published entry point: registers tsx so the TypeScript sources run as they are,
// without a build step that could drift from the code under test.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
