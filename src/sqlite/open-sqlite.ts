import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrateTo, refuseNewerSchema, type SqliteSchema } from './migrations.js';

export interface OpenSqliteOptions {
  schema: SqliteSchema;
  /** Migrate only this far (a migration's test stops at N-1); default: the latest. */
  target?: number;
  /** The caller's own pragmas (`'synchronous = NORMAL'`), set in order after WAL and before migrating. */
  pragmas?: readonly string[];
  /** Pragmas that need the migrated schema (`'optimize'`), set last. */
  pragmasAfterMigrating?: readonly string[];
}

/**
 * Opens a SQLite file for writing: refuses a newer schema, switches to WAL, sets the caller's pragmas
 * and migrates. Every writer of a store opens here, so the one-writer lock (DESIGN §9) belongs here too:
 * taken before the first pragma, released when the connection closes.
 */
export function openSqliteWriter(path: string, opts: OpenSqliteOptions): Database {
  const db = new BetterSqlite3(path);
  try {
    refuseNewerSchema(db, opts.schema);
    db.pragma('journal_mode = WAL');
    for (const p of opts.pragmas ?? []) db.pragma(p);
    migrateTo(db, opts.schema, opts.target);
    for (const p of opts.pragmasAfterMigrating ?? []) db.pragma(p);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** A read-only second connection to a file a writer already created (WAL lets it read while that one writes). */
export function openSqliteReader(path: string, pragmas: readonly string[] = []): Database {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    for (const p of pragmas) db.pragma(p);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
