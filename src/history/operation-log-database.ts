import BetterSqlite3, { type Database } from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/** Opens the station's history store (WAL) and brings its schema to `target` (default: latest). */
export function openHistoryDb(path: string, target: number = latestHistoryVersion()): Database {
  const db = new BetterSqlite3(path);
  try {
    refuseNewerSchema(db, MIGRATIONS);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; only an OS crash may lose the last few attempts,
    // and restart reconciliation with the authority records those again.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // 16 MB of page cache (default 2 MB): the hot index pages of a million-row log stay resident.
    db.pragma('cache_size = -16384');
    migrateHistoryDb(db, target, MIGRATIONS);
    // Refresh planner statistics where they are stale; cheap (analysis_limit) and needed because the
    // choice between a filter index and the time index depends on how many rows each filter keeps.
    db.pragma('analysis_limit = 1000');
    db.pragma('optimize = 0x10002');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** A read-only second connection: a long CSV export reads from it while the store keeps writing (WAL). */
export function openHistoryReader(path: string): Database {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // An export reads each page once, in order: a big cache would only add to the process's memory.
  db.pragma('cache_size = -2048');
  return db;
}

export function latestHistoryVersion(): number {
  return MIGRATIONS[MIGRATIONS.length - 1]!.version;
}

/** A store written by a newer program is left untouched: not even switched to WAL. */
function refuseNewerSchema(db: Database, migrations: readonly Migration[]): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > newest) {
    throw new Error(`history schema version ${current} is newer than this program knows (${newest}); upgrade the program`);
  }
  return current;
}

/** Applies each migration above the current version up to `target`, each in its own transaction. */
export function migrateHistoryDb(db: Database, target: number, migrations: readonly Migration[] = MIGRATIONS): void {
  const current = refuseNewerSchema(db, migrations);
  for (const m of migrations) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
