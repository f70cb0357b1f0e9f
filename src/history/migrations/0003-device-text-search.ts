import type { Database } from 'better-sqlite3';

/**
 * Substring search on device id and serial: an FTS5 trigram index (case-insensitive), so "finds
 * 7F3A21 anywhere in the label" stays an index lookup at a million rows instead of a scan.
 * Contentless: the text already lives in `attempts`; the index keeps only trigrams and rowids.
 * contentless_delete lets a future retention job delete rows from it.
 *
 * No trigger keeps it in sync: FTS5 flushes its pending terms at every statement savepoint, and a
 * trigger opens one per row, which made bulk inserts 2.5× slower. The store inserts into both tables
 * in the same transaction instead (src/history/attempt-writer.ts), the only place rows are written.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE VIRTUAL TABLE attempts_text USING fts5(
      dev_id, serial,
      content = '', contentless_delete = 1,
      tokenize = 'trigram'
    );
    INSERT INTO attempts_text (rowid, dev_id, serial) SELECT id, dev_id, serial FROM attempts;
  `);
}
