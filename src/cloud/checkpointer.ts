import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';

/**
 * Keeps the authority's WAL short without stalling requests: a worker thread with its own connection to
 * the store runs a PASSIVE checkpoint every interval, so the costly part of a checkpoint (the WAL's fsync,
 * the copy of its frames into the database file and that file's fsync: 35–50 ms for the 10,000 pages the
 * store lets the WAL grow to) runs beside the event loop, not on it. It is the same process (DESIGN §9,
 * one process writes a store's file): a checkpoint changes no row, and SQLite's own locks keep it from
 * copying a frame a reader or the writer still needs, so it never blocks the writer.
 *
 * The WAL starts over at the next write once a checkpoint (any connection's) has copied every frame and
 * no reader still uses it. Under a stream of commits the worker's checkpoints seldom end with every frame
 * copied (commits land meanwhile), so the WAL still grows to the store connection's own autocheckpoint
 * (wal_autocheckpoint, authority-database.ts), which then finds nearly every frame copied and synced
 * (the last interval's only), copies the rest, and lets the WAL start over.
 *
 * Durability: a checkpoint first syncs the WAL, so every commit before it survives an OS crash from then
 * on; the worker's connection keeps synchronous = NORMAL, whose checkpoints sync like FULL's.
 *
 * Should the worker fail (it cannot open the file, it dies, or its checkpoints fail WORKER_MAX_FAILURES
 * times in a row), onError is told (a failing checkpoint once, not at every tick) and the checkpoints fall
 * back to the store's own connection, between requests once it has been idle an interval.
 * The worker costs a V8 isolate and a Node environment (about 9 MB of RSS with its small heap limits).
 */
export interface Checkpointer {
  /** Stops the checkpoints; resolves once the worker has closed its connection and exited. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** How often the worker checkpoints (default WORKER_CHECKPOINT_INTERVAL_MS). */
  intervalMs?: number;
  /** The fallback on the store's connection: how long the store must have been idle, and how often it looks (default 250 ms). */
  idleMs?: number;
  onError?: (message: string) => void;
  /** After each checkpoint that copied frames: how long it took, the WAL's frames and those copied so far. */
  onCheckpoint?: (r: { ms: number; walFrames: number; copied: number; thread: 'worker' | 'store' }) => void;
  /** The file the worker opens (default: the store's own, db.name); a test names a missing one to fail it. */
  workerPath?: string;
  /** What the worker runs each interval (default: a PASSIVE checkpoint); a test names one that fails when run. */
  workerStatement?: string;
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 250;
/**
 * How often the worker checkpoints: what it leaves the writer's own checkpoint to copy and sync (about
 * this long's commits). While writes stream in, a commit reaches the disk within about this interval plus
 * one checkpoint's own length (and the timer's lateness); in the fallback, as before the worker: at the
 * next idle checkpoint or the writer's autocheckpoint.
 */
export const WORKER_CHECKPOINT_INTERVAL_MS = 50;
/** Checkpoints failed in a row after which the worker ends and the store's own connection takes over. */
export const WORKER_MAX_FAILURES = 5;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// Checkpoints sync the WAL before copying and the database after, in NORMAL as in FULL: never OFF here.
db.pragma('synchronous = NORMAL');
const checkpoint = db.prepare(workerData.statement);
let timer = null;
let last = '';
// A checkpoint that fails (a full disk, an I/O error) would fail again at every tick: the error is told once
// (again only when it changes), and after a few failures in a row the worker ends, so the store's own
// connection takes over (its checkpoints run only when the store is idle, a look at a time).
let failures = 0;
let lastError = '';
const tick = () => {
  const t0 = performance.now();
  try {
    const r = checkpoint.get();
    failures = 0;
    lastError = '';
    const seen = r.log + '/' + r.checkpointed;
    if (workerData.report && r.log > 0 && seen !== last) parentPort.postMessage({ checkpoint: { ms: performance.now() - t0, walFrames: r.log, copied: r.checkpointed } });
    last = seen;
  } catch (err) {
    const message = String((err && err.message) || err);
    if (message !== lastError) parentPort.postMessage({ error: message });
    lastError = message;
    if (++failures >= workerData.maxFailures) {
      db.close();
      process.exit(2);
    }
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(db: Database, opts: CheckpointerOptions = {}): Checkpointer {
  // An in-memory store has no WAL, and another connection could not see it: no worker.
  if (db.memory) return startIdleCheckpointer(db, opts);
  const intervalMs = opts.intervalMs ?? WORKER_CHECKPOINT_INTERVAL_MS;
  let fallback: Checkpointer | null = null;
  let stopping = false;
  let died = false;
  const fail = (message: string): void => {
    opts.onError?.(message);
    if (!stopping && !fallback && db.open) fallback = startIdleCheckpointer(db, opts);
  };
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      path: opts.workerPath ?? db.name,
      statement: opts.workerStatement ?? 'PRAGMA wal_checkpoint(PASSIVE)',
      maxFailures: WORKER_MAX_FAILURES,
      intervalMs,
      report: !!opts.onCheckpoint,
    },
    // Its work is a pragma a few times a second: a small heap (an out-of-memory death is reported like any other).
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8, codeRangeSizeMb: 2, stackSizeMb: 1 },
    // None of the process's node options (a loader, --input-type=module, a preload): the source above is CommonJS
    // and needs nothing else. V8's flags are the process's own and apply to this isolate too.
    execArgv: [],
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (m: { error?: string; checkpoint?: { ms: number; walFrames: number; copied: number } }) => {
    if (m.error) opts.onError?.(`WAL checkpoint in the worker failed: ${m.error}`);
    if (m.checkpoint) opts.onCheckpoint?.({ ...m.checkpoint, thread: 'worker' });
  });
  worker.on('error', (err) => {
    died = true;
    fail(`WAL checkpoint worker died: ${err.message}; checkpoints fall back to the store's connection when idle`);
  });
  worker.once('exit', (code) => {
    if (!stopping && !died) fail(`WAL checkpoint worker exited (${code}); checkpoints fall back to the store's connection when idle`);
  });
  // A checkpoint is no reason to stay alive: the server's socket is. stop() refs it again until it has exited.
  worker.unref();
  return {
    async stop() {
      if (!stopping) {
        stopping = true;
        worker.ref();
        worker.postMessage('stop');
      }
      await exited;
      await fallback?.stop();
    },
  };
}

/**
 * The fallback: a PASSIVE checkpoint on the store's own connection, run between requests once the store
 * has been idle for an interval (no row changed by this connection since the last look). A better-sqlite3
 * transaction never spans a turn of the event loop, so the timer always finds the connection free; idle,
 * the checkpoint stalls nobody. Under sustained writes the connection's own autocheckpoint bounds the WAL.
 */
export function startIdleCheckpointer(db: Database, opts: CheckpointerOptions = {}): Checkpointer {
  const changes = db.prepare<[], number>('SELECT total_changes()').pluck();
  const checkpoint = db.prepare<[], { busy: number; log: number; checkpointed: number }>('PRAGMA wal_checkpoint(PASSIVE)');
  let seen = -1;
  let checkpointedAt = -1;
  const look = (): void => {
    if (!db.open) return;
    try {
      const now = changes.get()!;
      // Writes since the last look: the store is busy, look again later. No writes since the last checkpoint: nothing to copy.
      const idle = now === seen;
      seen = now;
      if (!idle || now === checkpointedAt) return;
      const t0 = performance.now();
      const r = checkpoint.get();
      checkpointedAt = now;
      if (r && r.log > 0) opts.onCheckpoint?.({ ms: performance.now() - t0, walFrames: r.log, copied: r.checkpointed, thread: 'store' });
    } catch (err) {
      opts.onError?.(err instanceof Error ? err.message : String(err));
    }
  };
  const timer = setInterval(look, opts.idleMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
