import type { Database } from 'better-sqlite3';

/**
 * Repeated identical failures fold into one device log row (issue 9, "Floods fold"): `count` requests
 * between `at` (the first) and `last_at` (the last). Existing rows are one request each.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE device_logs ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
    ALTER TABLE device_logs ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
    UPDATE device_logs SET last_at = at;
  `);
}
