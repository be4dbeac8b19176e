#!/usr/bin/env node
// `lethe-sandbox`: the vendor simulators on 127.0.0.1 (see README.md here). Registers tsx
// like the controller's entry point, so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./cli.ts');
process.exitCode = await run(process.argv.slice(2));
