import type { Database } from 'better-sqlite3';

/**
 * Keeps the WAL short without a thread of its own: a PASSIVE checkpoint on the store's own connection,
 * run between requests once the store has been idle for an interval (no row changed by this connection
 * since the last look). A better-sqlite3 transaction never spans a turn of the event loop, so the timer
 * always finds the connection free, and a checkpoint (two fsyncs, 5–20 ms on these disks) held while
 * unbinds stream in would stall each of them; idle, it stalls nobody. Under sustained writes the
 * connection's own autocheckpoint (wal_autocheckpoint, set high by the store) bounds the WAL.
 * A worker thread with a second connection cost a V8 isolate and a Node environment: about 12 MB of
 * RSS, a tenth of the authority's budget, for a few milliseconds of work a second.
 */
export interface Checkpointer {
  /** Stops the timer; resolves at once, whatever else keeps the process alive or not. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** How long the store must have been idle before a checkpoint, and how often it looks (default 250 ms). */
  intervalMs?: number;
  onError?: (message: string) => void;
  /** After each checkpoint that found frames: how long it held the thread, the WAL's frames and those copied. */
  onCheckpoint?: (r: { ms: number; walFrames: number; copied: number }) => void;
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 250;

export function startCheckpointer(db: Database, opts: CheckpointerOptions = {}): Checkpointer {
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
      if (r && r.log > 0) opts.onCheckpoint?.({ ms: performance.now() - t0, walFrames: r.log, copied: r.checkpointed });
    } catch (err) {
      opts.onError?.(err instanceof Error ? err.message : String(err));
    }
  };
  const timer = setInterval(look, opts.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS);
  // A checkpoint is no reason to stay alive: the server's socket is.
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return Promise.resolve();
    },
  };
}
