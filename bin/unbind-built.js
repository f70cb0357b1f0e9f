#!/usr/bin/env -S node --optimize-for-size
// The `unbind` command from the built JavaScript (`npm run build:node`): no TypeScript loader at run time.
// --optimize-for-size: V8 favours memory over speed. Under a stream of small requests its defaults let the
// young generation grow to 2 × 16 MB and the old one fill with promoted garbage to ~50 MB before a full
// GC: 145–175 MB of RSS against the authority's 120 MB budget. With it, the young generation stays at
// 2 × 1 MB and the old one is collected sooner: ~115 MB peak (bench:authority), paid in more scavenges.
// (--max-semi-space-size alone moved the garbage to the old generation: no gain.) Run as
// `bin/unbind-built.js …` this line applies it; `npm start` passes the same flag to node itself (a
// shebang is not read on Windows, nor by an `env` without -S).
import { main } from '../dist/node/cli.js';

process.exitCode = await main(process.argv.slice(2));
