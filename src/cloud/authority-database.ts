import BetterSqlite3, { type Database } from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/** Opens the authority's SQLite store (WAL) and brings its schema to `target` (default: latest). */
export function openAuthorityDb(path: string, target: number = latestVersion()): Database {
  const db = new BetterSqlite3(path);
  try {
    refuseNewerSchema(db, MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against process crashes; only an OS crash may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Each checkpoint syncs the database file; at the default (1,000 pages) checkpoints cost a third of
  // an unbind's time. 10,000 pages lets the WAL grow to about 40 MB between checkpoints.
  db.pragma('wal_autocheckpoint = 10000');
  migrate(db, target, MIGRATIONS);
  return db;
}

export function latestVersion(): number {
  return MIGRATIONS[MIGRATIONS.length - 1]!.version;
}

/** A store written by a newer program is left untouched: not even switched to WAL. */
function refuseNewerSchema(db: Database, migrations: readonly Migration[]): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > newest) {
    throw new Error(`database schema version ${current} is newer than this program knows (${newest}); upgrade the program`);
  }
  return current;
}

export function migrate(db: Database, target: number, migrations: readonly Migration[]): void {
  const current = refuseNewerSchema(db, migrations);
  for (const m of migrations) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
