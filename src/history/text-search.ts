import type { Database } from 'better-sqlite3';
import type { SqlCondition } from './history-scope.js';

/** The trigram index needs three characters; shorter text is always matched by a scan. */
export const MIN_INDEXED_TEXT = 3;
/**
 * Above this many matching rows, a scan in page order beats the index: fetching and sorting N
 * matches costs about N µs, while a scan fills a page after about 100 / density rows. The two meet
 * near 10,000 matches in a million rows (density 1 %), where each costs about 10 ms.
 */
export const DENSE_TEXT_MATCHES = 10_000;

/** Decides, per text, whether the trigram index or a scan answers it faster. */
export type TextPlanner = (text: string) => 'index' | 'scan';

export function createTextPlanner(db: Database): TextPlanner {
  const countUpTo = db.prepare<[string, number], number>(`SELECT count(*) FROM (SELECT rowid FROM attempts_text WHERE attempts_text MATCH ? LIMIT ?)`).pluck();
  return (text) => {
    if ([...text].length < MIN_INDEXED_TEXT) return 'scan';
    // Stops counting at the threshold: reading 10,000 rowids off the doclists takes about a millisecond.
    return countUpTo.get(ftsPhrase(text), DENSE_TEXT_MATCHES + 1)! > DENSE_TEXT_MATCHES ? 'scan' : 'index';
  };
}

/** A quoted FTS5 string: the text is data, never query syntax (AND, NEAR, column filters, *). */
function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/**
 * Case-insensitive substring of the device id or the serial, two ways with the same answer:
 * - index: the FTS5 trigram index; a phrase of trigrams matches exactly the substrings, so "3a21"
 *   finds "CS-7F3A21-0042". Used for 3+ characters that match few rows (a serial, part of one).
 * - scan: instr() on each row as rows come in page order. Used when the text is too short for a
 *   trigram, or so common ("C6N-", a product's prefix) that a page fills after a short scan.
 *   Labels are ASCII (serialSchema), where SQLite's lower() and the trigram case folding agree.
 */
export function textCondition(text: string, plan: 'index' | 'scan'): SqlCondition {
  if (plan === 'index') return { sql: 'id IN (SELECT rowid FROM attempts_text WHERE attempts_text MATCH ?)', params: [ftsPhrase(text)] };
  const lower = text.toLowerCase();
  return { sql: '(instr(lower(dev_id), ?) > 0 OR instr(lower(serial), ?) > 0)', params: [lower, lower] };
}
