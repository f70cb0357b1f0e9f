import type { Database, Statement } from 'better-sqlite3';
import type { HistoryQuery, HistoryRow, Page } from '../protocol/station-api.js';
import { ROW_COLUMNS, toHistoryRow, type AttemptRecord } from './history-row.js';
import type { HistoryScope } from './history-scope.js';
import { decodeCursor, encodeCursor } from './page-cursor.js';
import { filterCondition } from './query-filter.js';
import { createTextPlanner } from './text-search.js';

export const DEFAULT_PAGE_LIMIT = 100;

export interface HistoryReader {
  query(scope: HistoryScope, q: HistoryQuery): Page<HistoryRow>;
  batchAttempts(batchId: string): HistoryRow[];
}

export function createHistoryReader(db: Database): HistoryReader {
  // Filters combine freely, so statements are built per shape; the shapes in use are few (the UI's
  // filter combinations), and a cache saves re-preparing them on every page.
  const statements = new Map<string, Statement<unknown[], AttemptRecord>>();
  const prepared = (sql: string): Statement<unknown[], AttemptRecord> => {
    let s = statements.get(sql);
    if (!s) {
      if (statements.size >= 256) statements.clear();
      s = db.prepare<unknown[], AttemptRecord>(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const planText = createTextPlanner(db);
  const byBatch = db.prepare<[string], AttemptRecord>(`SELECT ${ROW_COLUMNS} FROM attempts WHERE batch_id = ? ORDER BY at, id`);

  return {
    query(scope, q) {
      const where = filterCondition(scope, q, planText);
      if (where === null) return { items: [], nextCursor: null };
      const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
      const conds = [where.sql];
      const params: Array<string | number> = [...where.params];
      if (q.cursor !== undefined) {
        const after = decodeCursor(q.cursor);
        // A row value comparison: a range on the index's `at`; the id decides only among rows that
        // share the cursor's millisecond, so ties are neither repeated nor skipped.
        conds.push('(at, id) < (?, ?)');
        params.push(after.at, after.id);
      }
      // One row past the page tells whether a next page exists without a count(*).
      const sql = `SELECT ${ROW_COLUMNS} FROM attempts WHERE ${conds.join(' AND ')} ORDER BY at DESC, id DESC LIMIT ?`;
      const rows = prepared(sql).all(...params, limit + 1);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page[page.length - 1];
      return { items: page.map(toHistoryRow), nextCursor: more && last ? encodeCursor({ at: last.at, id: last.id }) : null };
    },

    batchAttempts(batchId) {
      return byBatch.all(batchId).map(toHistoryRow);
    },
  };
}
