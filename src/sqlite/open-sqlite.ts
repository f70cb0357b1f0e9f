import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrateTo, refuseNewerSchema, type SqliteSchema } from './migrations.js';
import { takeWriterLock } from './writer-lock.js';

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
 * The store's file is the owner's only (0600), and so are its -wal and -shm, which SQLite creates with
 * the mode of the database file. A file left world-readable by an older program is closed down too.
 * Only chmod and an exclusive create: opening and closing a descriptor of a file another connection of
 * this process has open would drop that connection's POSIX locks.
 */
function ownerOnly(path: string): void {
  if (existsSync(path)) chmodSync(path, 0o600);
  else {
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  for (const side of [`${path}-wal`, `${path}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
}

/**
 * Opens a SQLite file for writing: refuses a newer schema, switches to WAL, sets the caller's pragmas
 * and migrates. Every writer of a store opens here, so the one-writer lock (DESIGN §9) is taken here too:
 * before the file is touched, released when the connection closes (or by the kernel when the process
 * dies). A second writer, in another process or this one, gets a StoreLockedError naming the holder.
 */
export function openSqliteWriter(path: string, opts: OpenSqliteOptions): Database {
  // An in-memory or temporary database (':memory:', '') is its connection's alone: nothing to lock or close down.
  const onDisk = path !== ':memory:' && path !== '';
  const lock = onDisk ? takeWriterLock(path, 'store') : { release: () => undefined };
  let db: Database;
  try {
    if (onDisk) ownerOnly(path);
    db = new BetterSqlite3(path);
  } catch (err) {
    lock.release();
    throw err;
  }
  const close = db.close.bind(db);
  db.close = () => {
    try {
      return close();
    } finally {
      lock.release();
    }
  };
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
