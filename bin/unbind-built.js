#!/usr/bin/env -S node --max-semi-space-size=4
// The `unbind` command from the built JavaScript (`npm run build:node`): no TypeScript loader at run time.
// --max-semi-space-size=4 (MB): V8's young generation otherwise grows to 2 × 16 MB under a stream of small
// requests, a quarter of the authority's 120 MB budget (bench:authority). 4 MB still holds the requests in
// flight (at 1 MB, measured: 13× the scavenges and 3.5× their time, the requests promoted to the old
// generation instead). Run it as `bin/unbind-built.js …` (npm start does) for this line to apply;
// `node bin/unbind-built.js` runs with V8's defaults.
import { main } from '../dist/node/cli.js';

process.exitCode = await main(process.argv.slice(2));
