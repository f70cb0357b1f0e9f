// bench:authority --trace: loaded by the authority child (`node --import`), plain JavaScript since the child
// runs the built bundle without a TypeScript loader. Records, with wall-clock times (ms since the epoch), every
// GC pause, every event-loop turn longer than 4 ms, the memory use at the highest RSS seen, and every SQLite transaction (its length, its group size,
// whether a WAL checkpoint ran inside it: the -shm's nBackfill moved), and writes them to AUTH_TRACE-<pid>.json
// on exit.
// Diagnostic only: the product never loads it.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.AUTH_TRACE;
if (out && isMainThread && process.argv.includes('authority')) {
  const T0 = performance.timeOrigin;
  const gc = [];
  const loop = [];
  const tx = [];
  let mem = null;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc.push({ t: T0 + e.startTime, ms: e.duration, kind: e.detail?.kind ?? 0 });
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let turns = 0;
  setInterval(() => {
    const now = performance.now();
    if (now - last > 4) loop.push({ t: T0 + last, ms: now - last });
    last = now;
    if (++turns % 50 === 0) {
      const m = process.memoryUsage();
      if (!mem || m.rss > mem.rss) mem = m;
    }
  }, 1).unref();
  // The WAL index (-shm): WalCkptInfo.nBackfill, the frames a checkpoint has copied, at byte 96 (after the two
  // 48-byte header copies); a checkpoint that copies frames moves it, a WAL restarted after one resets it to 0.
  const dbArg = process.argv[process.argv.indexOf('--db') + 1] ?? '';
  let shm = -1;
  const buf = Buffer.alloc(4);
  const backfill = () => {
    try {
      if (shm < 0) shm = openSync(`${dbArg}-shm`, 'r');
      readSync(shm, buf, 0, 4, 96);
      return buf.readUInt32LE(0);
    } catch {
      return -1;
    }
  };
  const Database = createRequire(`${process.cwd()}/package.json`)('better-sqlite3');
  const transaction = Database.prototype.transaction;
  Database.prototype.transaction = function (fn) {
    const t = transaction.call(this, fn);
    const timed = (f) =>
      function (...a) {
        const b0 = backfill();
        const s = performance.now();
        try {
          return f.apply(this, a);
        } finally {
          const ms = performance.now() - s;
          const b1 = backfill();
          tx.push({ t: T0 + s, ms, n: Array.isArray(a[0]) ? a[0].length : 1, checkpoint: b1 > b0 });
        }
      };
    const w = timed(t);
    for (const v of ['default', 'deferred', 'immediate', 'exclusive']) Object.defineProperty(w, v, { value: timed(t[v]) });
    return w;
  };
  process.on('exit', () => {
    if (shm >= 0) closeSync(shm);
    writeFileSync(`${out}-${process.pid}.json`, JSON.stringify({ gc, loop, tx, mem }));
  });
}
