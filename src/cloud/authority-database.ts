import type { Database } from 'better-sqlite3';
import { latestVersion, openSqliteWriter } from '../sqlite/index.js';
import { AUTHORITY_SCHEMA } from './migrations/index.js';

/** Opens the authority's SQLite store (WAL) and brings its schema to `target` (default: latest). */
export function openAuthorityDb(path: string, target: number = latestVersion(AUTHORITY_SCHEMA)): Database {
  return openSqliteWriter(path, {
    schema: AUTHORITY_SCHEMA,
    target,
    pragmas: [
      // NORMAL in WAL mode is durable against process crashes; only an OS crash may lose the last commits.
      'synchronous = NORMAL',
      'foreign_keys = ON',
      'busy_timeout = 5000',
      // Each checkpoint syncs the database file; at the default (1,000 pages) checkpoints cost a third of
      // an unbind's time. 10,000 pages lets the WAL grow to about 40 MB between checkpoints. The worker
      // (checkpointer.ts) copies and syncs the WAL every 50 ms beside the event loop; this connection's own
      // checkpoint (under a stream of commits, the one that copies every frame, so the WAL starts over) then
      // finds little left to copy or sync.
      'wal_autocheckpoint = 10000',
      // 8 MB of page cache (better-sqlite3 builds SQLite with 16 MB a connection): the 16 MB file of
      // bench:authority no longer sits whole in the process's memory, which pays for the checkpoint worker's
      // isolate (~5 MB of RSS) under the 120 MB budget; a missed page is read from the OS's cache.
      'cache_size = -8000',
    ],
  });
}
