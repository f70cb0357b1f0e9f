#!/usr/bin/env node
// The `unbind` command from the built JavaScript (`npm run build:node`): no TypeScript loader at run time.
import { main } from '../dist/node/cli.js';

process.exitCode = await main(process.argv.slice(2));
