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

const SPECIAL = /[",\r\n]/;
/** csv-stringify's `escape_formulas` set (= + - @ tab CR and their full-width forms). */
const FORMULA = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * One cell exactly as csv-stringify writes it with csvOptions() (a property test holds the two equal):
 * a formula start gets its apostrophe, a cell holding a comma, quote or line break is quoted with its
 * quotes doubled, a null is empty. Written here because the library's per-record work (option checks,
 * casts, separator scans) was the export's largest cost: 3–4 µs a row against under 1 µs here.
 */
export function csvCell(value: string | null): string {
  if (value === null || value === '') return '';
  const v = FORMULA.test(value) ? `'${value}` : value;
  return SPECIAL.test(value) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** A row as a CSV line; the hint goes with every coded row: all failures, and results flagged with a code (SERIAL_MISMATCH). */
function csvLine(r: RawRow, extra: CsvHintColumn | null): string {
  const code = r[10] as FailureCode | null;
  const line =
    `${new Date(r[0]).toISOString()},${csvCell(r[1])},${csvCell(r[2])},${csvCell(r[3])},${csvCell(r[4])},${csvCell(r[5])},` +
    `${csvCell(r[6])},${csvCell(r[7])},${csvCell(r[8])},${csvCell(r[9])},${csvCell(code)},${code ? csvCell(FAILURE_HINTS[code]) : ''}`;
  if (!extra) return `${line}\n`;
  return `${line},${code ? csvCell(extra.hintOf(code)) : ''}\n`;
}

/**
 * CSV bytes straight off a better-sqlite3 iterator on a connection of its own, produced only as fast
 * as the consumer reads, a chunk of rows at a time (csv-stringify's stream API, one record per stream
 * write, took 7–8 s for a million rows, all of it per-record hand-offs). csv-stringify writes the
 * header; the rows are encoded by csvCell, to its rules.
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
      // The first chunk carries the BOM and the header row, even when no row matched.
      let csv = this.first ? stringify([], { ...csvOptions(this.extra), header: true, bom: true }) : '';
      this.first = false;
      let done = false;
      for (let n = 0; n < ROWS_PER_CHUNK; n++) {
        const next = this.rows.next();
        if (next.done) {
          done = true;
          break;
        }
        csv += csvLine(next.value, this.extra);
      }
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
