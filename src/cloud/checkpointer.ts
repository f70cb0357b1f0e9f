import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Moves WAL checkpoints off the request thread: a worker with its own connection runs a PASSIVE
 * checkpoint every interval, so the fsync of the database file never stalls an unbind. The main
 * connection keeps its (high) autocheckpoint only as a fallback.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err && err.message) }); }
}, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); db.close(); parentPort.close(); } });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(dbPath: string, opts: { intervalMs?: number; onError?: (message: string) => void } = {}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: dbPath, intervalMs: opts.intervalMs ?? 250 } });
  worker.on('message', (m: { error?: string }) => m.error && opts.onError?.(m.error));
  worker.on('error', (err) => opts.onError?.(err.message));
  worker.unref();
  return {
    stop: () =>
      new Promise<void>((done) => {
        worker.once('exit', () => done());
        worker.postMessage('stop');
      }),
  };
}
