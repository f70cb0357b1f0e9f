import { Readable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { stringify, type Options as CsvOptions } from 'csv-stringify/sync';
import { FAILURE_HINTS, type FailureCode } from '../protocol/failure-codes.js';
import type { HistoryQuery } from '../protocol/station-api.js';
import type { HistoryScope } from './history-scope.js';
import { filterCondition } from './query-filter.js';
import type { TextPlanner } from './text-search.js';

/** The header row, in column order: stable names for programs (`hint` is always the contract's English). */
export const CSV_COLUMNS = ['time', 'station', 'operator', 'account', 'method', 'batch', 'product', 'device', 'serial', 'result', 'code', 'hint'] as const;

/** One more column after those, for people: the code's hint in the operator's language (`hint_ru`, …). */
export interface CsvHintColumn {
  name: string;
  hintOf(code: FailureCode): string;
}

type RawRow = [at: number, station: string, operator: string, account: string, method: string, batch: string | null, pid: string | null, dev: string, serial: string | null, result: string, code: string | null];

/** Rows per chunk: about 70 KB of CSV, so the stream holds a few chunks, never the export. */
const ROWS_PER_CHUNK = 512;

/**
 * Excel is where the returns department opens these. A UTF-8 BOM makes it read UTF-8 (operator
 * names with accents). escape_formulas is csv-stringify's guard against formula injection: a cell
 * starting with = + - @ (or tab, CR, or their full-width forms) gets a leading apostrophe, so
 * `=HYPERLINK(...)` typed as an operator name or printed on a forged label shows as text instead of
 * running. The apostrophe is in the file: a program parsing the CSV reads `'-A1` for a serial `-A1`.
 */
function csvOptions(extra: CsvHintColumn | null): CsvOptions {
  return { columns: extra ? [...CSV_COLUMNS, extra.name] : [...CSV_COLUMNS], escape_formulas: true };
}

/** The hint goes with every coded row: all failures, and results flagged with a code (SERIAL_MISMATCH). */
function toCsvRecord(r: RawRow, extra: CsvHintColumn | null): Array<string | null> {
  const code = r[10] as FailureCode | null;
  const record = [new Date(r[0]).toISOString(), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], code, code ? FAILURE_HINTS[code] : null];
  if (extra) record.push(code ? extra.hintOf(code) : null);
  return record;
}

/**
 * CSV bytes straight off a better-sqlite3 iterator on a connection of its own, produced only as fast
 * as the consumer reads. csv-stringify encodes each chunk of rows (its sync API, a chunk at a time):
 * its stream API, one record per stream write, took 7–8 s for a million rows against 4–5 s this way,
 * all of the difference being per-record stream hand-offs.
 */
class CsvChunks extends Readable {
  private readonly rows: IterableIterator<RawRow>;
  private first = true;

  constructor(
    private readonly conn: Database,
    sql: string,
    params: Array<string | number>,
    private readonly extra: CsvHintColumn | null,
  ) {
    super();
    this.rows = conn.prepare<unknown[], RawRow>(sql).raw().iterate(...params) as IterableIterator<RawRow>;
  }

  override _read(): void {
    try {
      const records: Array<Array<string | null>> = [];
      let done = false;
      while (records.length < ROWS_PER_CHUNK) {
        const next = this.rows.next();
        if (next.done) {
          done = true;
          break;
        }
        records.push(toCsvRecord(next.value, this.extra));
      }
      // The first chunk carries the BOM and the header row, even when no row matched.
      const csv = stringify(records, { ...csvOptions(this.extra), header: this.first, bom: this.first });
      this.first = false;
      if (csv) this.push(csv);
      if (done) this.push(null);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    try {
      // Ends the statement (releasing the WAL snapshot) before the connection goes.
      this.rows.return?.();
      this.conn.close();
    } catch (closeErr) {
      callback(err ?? (closeErr as Error));
      return;
    }
    callback(err);
  }
}

/**
 * The filtered history as CSV, newest first (the order of the history view), every matching row:
 * cursor and limit are ignored. Streams: an export of a million rows holds neither the rows nor the
 * store's write connection (a long export on the store's own connection would block every record()).
 */
export function exportHistoryCsv(openReader: () => Database, planText: TextPlanner, scope: HistoryScope, q: HistoryQuery, extra: CsvHintColumn | null = null): Readable {
  const where = filterCondition(scope, q, planText);
  if (where === null) {
    // Nothing in scope: still a valid CSV with its header, so a download is never an error page.
    return Readable.from([stringify([], { ...csvOptions(extra), header: true, bom: true })], { objectMode: false });
  }
  const sql = `SELECT at, station_id, operator, account_id, method, batch_id, pid, dev_id, serial, result, code FROM attempts WHERE ${where.sql} ORDER BY at DESC, id DESC`;
  return new CsvChunks(openReader(), sql, where.params, extra);
}
