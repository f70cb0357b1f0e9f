import type { PoolClient } from 'pg';

/**
 * The twin of SQLite's 0005-ticket-decisions-serial-formats (issue 11): the reason an owner gives with a
 * ticket's decision, which the requester reads, and a product's serial-label format, so that a station
 * refuses a scanned label that cannot be this product's.
 */
export async function up(c: PoolClient): Promise<void> {
  await c.query(`
    ALTER TABLE quota_tickets ADD COLUMN decision_reason TEXT;
    -- A template (# digit, A letter, * either); NULL: no format on record, labels are checked as labels only.
    ALTER TABLE products ADD COLUMN serial_format TEXT;
  `);
}
