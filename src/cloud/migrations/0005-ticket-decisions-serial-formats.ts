import type { Database } from 'better-sqlite3';

/**
 * Issue 11: an owner rejects a quota ticket with a reason the requester reads, and a product carries the
 * format of its serial labels, so that a station refuses a scanned label that cannot be this product's.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE quota_tickets ADD COLUMN decision_reason TEXT;
    -- A template (# digit, A letter, * either); NULL: no format on record, labels are checked as labels only.
    ALTER TABLE products ADD COLUMN serial_format TEXT;
  `);
}
