#!/usr/bin/env node
// Entry point for the `ringside` command. The sources are TypeScript; tsx compiles them on load
// (esbuild, cached), so there is no separate build step for the server and CLI.
import {register} from 'tsx/esm/api';

register();
const {main} = await import('../server/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
