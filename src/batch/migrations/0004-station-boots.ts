import type { Database } from 'better-sqlite3';

/**
 * How many times this station's batch store was opened (one writer process at a time): the high part
 * of every batch stamp (batch-views.ts), so that a station started again stamps above anything it
 * stamped before, whatever the wall clock did meanwhile.
 */
export function up(db: Database): void {
  db.exec('CREATE TABLE station_boots (id INTEGER PRIMARY KEY CHECK (id = 1), boots INTEGER NOT NULL)');
}
