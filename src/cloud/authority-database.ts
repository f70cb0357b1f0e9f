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
      // an unbind's time. 10,000 pages lets the WAL grow to about 40 MB between checkpoints.
      'wal_autocheckpoint = 10000',
    ],
  });
}
