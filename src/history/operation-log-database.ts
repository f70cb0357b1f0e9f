import type { Database } from 'better-sqlite3';
import { latestVersion, openSqliteReader, openSqliteWriter } from '../sqlite/index.js';
import { HISTORY_SCHEMA } from './migrations/index.js';
import { WAL_BACKSTOP_PAGES } from './idle-checkpoint.js';

/** Opens the station's history store (WAL) and brings its schema to `target` (default: latest). */
export function openHistoryDb(path: string, target: number = latestHistoryVersion()): Database {
  return openSqliteWriter(path, {
    schema: HISTORY_SCHEMA,
    target,
    pragmas: [
      // NORMAL in WAL mode survives a process crash; only an OS crash may lose the last few attempts,
      // and restart reconciliation with the authority records those again.
      'synchronous = NORMAL',
      'busy_timeout = 5000',
      // 16 MB of page cache (default 2 MB): the hot index pages of a million-row log stay resident.
      'cache_size = -16384',
      // The store checkpoints when its writes pause (idle-checkpoint.ts); SQLite's own rule only past this.
      `wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`,
    ],
    // Refresh planner statistics where they are stale; cheap (analysis_limit) and needed because the
    // choice between a filter index and the time index depends on how many rows each filter keeps.
    pragmasAfterMigrating: ['analysis_limit = 1000', 'optimize = 0x10002'],
  });
}

/** A read-only second connection: a long CSV export reads from it while the store keeps writing (WAL). */
export function openHistoryReader(path: string): Database {
  // An export reads each page once, in order: a big cache would only add to the process's memory.
  return openSqliteReader(path, ['busy_timeout = 5000', 'cache_size = -2048']);
}

export function latestHistoryVersion(): number {
  return latestVersion(HISTORY_SCHEMA);
}
