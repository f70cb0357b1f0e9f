import type { Database } from 'better-sqlite3';

/**
 * When the history's WAL is copied into the database file. SQLite's own rule (every 1000 pages) ran
 * the checkpoint inside whichever commit crossed the line: in the middle of a batch, with the fsyncs
 * that synchronous = NORMAL does only there, 10–20 ms in which the station (and the authority it
 * embeds) did nothing else: the p99 of a result's way to its history row. Here the checkpoint waits
 * for a pause in the writes (`idleMs` without one), and SQLite's rule stays behind it as a backstop
 * at a larger size (WAL_BACKSTOP_PAGES, set by openHistoryDb) for writes that never pause.
 *
 * What a crash may lose: a process crash loses nothing committed (the WAL is on disk either way). An OS
 * crash may lose what was committed since the last completed checkpoint: usually the current burst of
 * writes, synced once it pauses; during a burst that never pauses, up to WAL_BACKSTOP_PAGES (4× SQLite's
 * default of 1000); and a PASSIVE checkpoint that a reader's snapshot keeps from copying any page syncs
 * nothing (SQLite syncs the WAL only when it copies), so those writes wait for the next pause. The decisions themselves are the
 * authority's, kept in its own log: what an OS crash can take here is the station's copy of them.
 */
export const WAL_BACKSTOP_PAGES = 4000;
export const DEFAULT_IDLE_MS = 250;

export interface IdleCheckpoint {
  /** A write was committed: the checkpoint waits until the writes pause. */
  wrote(): void;
  close(): void;
}

export interface IdleCheckpointOptions {
  idleMs?: number;
  /** The tests' clock and timer. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => () => void;
}

const realTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export function createIdleCheckpoint(db: Database, opts: IdleCheckpointOptions = {}): IdleCheckpoint {
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  const now = opts.now ?? (() => performance.now());
  const setTimer = opts.setTimer ?? realTimer;
  let last = 0;
  let cancel: (() => void) | null = null;
  let closed = false;
  const fire = (): void => {
    cancel = null;
    if (closed) return;
    const quiet = now() - last;
    if (quiet < idleMs) {
      cancel = setTimer(fire, idleMs - quiet);
      return;
    }
    try {
      // PASSIVE: copies what no reader still needs and waits for nobody; the rest goes at the next pause.
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A busy or closing file: the next pause, or the backstop, checkpoints instead.
    }
  };
  return {
    wrote() {
      last = now();
      // One timer per pause, not one per write: it looks again when it fires.
      if (!cancel && !closed) cancel = setTimer(fire, idleMs);
    },
    close() {
      closed = true;
      cancel?.();
      cancel = null;
    },
  };
}
