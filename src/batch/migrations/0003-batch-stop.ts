import type { Database } from 'better-sqlite3';

/**
 * The stop rule (issue 11): a batch that stopped itself on a repeated failure keeps why (JSON: code,
 * count, threshold, window, when, and when the operator resumed it), so that a paused batch is still
 * paused after a restart and a finished one still says it stopped.
 */
export function up(db: Database): void {
  db.exec('ALTER TABLE batches ADD COLUMN stop TEXT');
}
