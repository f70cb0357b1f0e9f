import type { Readable } from 'node:stream';
import type { HistoryQuery, HistoryRow, HistoryStats, Page } from '../protocol/station-api.js';
import { createAttemptWriter } from './attempt-writer.js';
import { createDaySummary } from './day-summary.js';
import { createIdleCheckpoint } from './idle-checkpoint.js';
import { exportHistoryCsv, type CsvHintColumn } from './csv-export.js';
import { openHistoryDb, openHistoryReader } from './operation-log-database.js';
import { createHistoryReader } from './history-reader.js';
import { parseScope, type HistoryScope } from './history-scope.js';
import { createHistoryStats } from './history-stats.js';
import type { NewAttempt } from './new-attempt.js';
import { parseQuery } from './query-filter.js';
import { createTextPlanner } from './text-search.js';
import { assertTimeZone } from './zone-calendar.js';

/** The station's operation log (DESIGN §2 history): every unbind attempt, its result and reason. */
export interface HistoryStore {
  /**
   * Stores one attempt after validating it (HistoryInputError, nothing written, if it is malformed).
   * Returns null when the attempt repeats a (tokenId, seq) already stored: restart reconciliation
   * replays the authority's results and each is kept once.
   */
  record(attempt: NewAttempt): HistoryRow | null;
  /**
   * An authority result (with its seq) for a device whose row in the batch the station wrote itself for
   * the same token: a transport failure (one of `transportCodes`) or the device's own word for the same
   * result, written while the authority's was late. That row becomes the authority's result, so one
   * decision stays one attempt. Null (nothing written) when there is no such row or the result is stored.
   */
  adoptLocal(attempt: NewAttempt, transportCodes: readonly string[]): HistoryRow | null;
  /** All in one transaction; validates every row first, so one bad row writes nothing. Returns how many were new. */
  recordMany(attempts: readonly NewAttempt[]): number;
  /** As recordMany, answering for each attempt what record would: its row, or null for a repeat. */
  recordEach(attempts: readonly NewAttempt[]): Array<HistoryRow | null>;
  /** Newest first, in pages of `limit` (default 100) chained by an opaque `nextCursor`. */
  query(scope: HistoryScope, q: HistoryQuery): Page<HistoryRow>;
  /** Counts by code (UNBOUND and NOT_BOUND count as codes) and by day in the store's time zone. */
  stats(scope: HistoryScope, q: HistoryQuery): HistoryStats;
  /** Streams the filtered history as CSV (header row first); cursor and limit are ignored. */
  exportCsv(scope: HistoryScope, q: HistoryQuery, hintColumn?: CsvHintColumn | null): Readable;
  /** Every attempt of one batch, oldest first, whoever's scope: for the batch engine, not for display. */
  batchAttempts(batchId: string): HistoryRow[];
  /** Ends exports still streaming and closes the store. */
  close(): void;
}

export interface HistoryStoreOptions {
  /** IANA zone whose calendar days `stats` counts by (default UTC). */
  timeZone?: string;
}

export function openHistoryStore(path: string, opts: HistoryStoreOptions = {}): HistoryStore {
  const timeZone = opts.timeZone ?? 'UTC';
  // Before the file is opened: a typo in the station's config must not leave a handle behind.
  assertTimeZone(timeZone);
  const db = openHistoryDb(path);
  const writer = createAttemptWriter(db, createDaySummary(db, timeZone));
  const checkpoint = createIdleCheckpoint(db);
  const reader = createHistoryReader(db);
  const statsReader = createHistoryStats(db, timeZone);
  const planText = createTextPlanner(db);
  const exports = new Set<Readable>();
  let closed = false;
  const assertOpen = (): void => {
    if (closed) throw new Error('history store is closed');
  };

  return {
    record(attempt) {
      assertOpen();
      const out = writer.record(attempt);
      checkpoint.wrote();
      return out;
    },
    adoptLocal(attempt, transportCodes) {
      assertOpen();
      const out = writer.adoptLocal(attempt, transportCodes);
      checkpoint.wrote();
      return out;
    },
    recordMany(attempts) {
      assertOpen();
      const out = writer.recordMany(attempts);
      checkpoint.wrote();
      return out;
    },
    recordEach(attempts) {
      assertOpen();
      const out = writer.recordEach(attempts);
      checkpoint.wrote();
      return out;
    },
    query(scope, q) {
      assertOpen();
      return reader.query(parseScope(scope), parseQuery(q));
    },
    stats(scope, q) {
      assertOpen();
      return statsReader.stats(parseScope(scope), parseQuery(q));
    },
    exportCsv(scope, q, hintColumn = null) {
      assertOpen();
      const stream = exportHistoryCsv(() => openHistoryReader(path), planText, parseScope(scope), parseQuery(q), hintColumn);
      exports.add(stream);
      stream.once('close', () => exports.delete(stream));
      return stream;
    },
    batchAttempts(batchId) {
      assertOpen();
      if (typeof batchId !== 'string' || batchId.length === 0) throw new TypeError('batchId must be a non-empty string');
      return reader.batchAttempts(batchId);
    },
    close() {
      if (closed) return;
      closed = true;
      checkpoint.close();
      for (const s of exports) s.destroy();
      // SQLite's advice for long-lived connections: refresh planner statistics on the way out.
      db.pragma('optimize');
      db.close();
    },
  };
}
