import { Readable } from 'node:stream';
import type { Database, Statement } from 'better-sqlite3';
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

/** What SQLite hands over per row: the time, the id, the cells from station to result joined by commas, and the code. */
type LineRow = [at: number, id: number, cells: string, code: string | null];
type CellsRow = Array<string | null>;

/**
 * Rows per chunk: about 35 KB of CSV, so the stream holds a few chunks, never the export. Smaller than
 * it was (512, 70 KB) since the rows come faster: with 512 the export raised the bench's peak RSS by
 * 7–9 MB, with 256 by about 2 MB, at the same speed.
 */
const ROWS_PER_CHUNK = 256;

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

/** The cells from station to result, in CSV_COLUMNS order; the time before them, code and hint after. */
const CELL_COLUMNS = ['station_id', 'operator', 'account_id', 'method', 'batch_id', 'pid', 'dev_id', 'serial', 'result'] as const;
const NULLABLE: ReadonlySet<string> = new Set(['batch_id', 'pid', 'serial']);

/**
 * Those cells joined by commas as they are, by SQLite: a row crosses into JavaScript as one string
 * instead of nine (reading the columns one by one and formatting them here was half the export's
 * time). It is the CSV as csvCell would write it exactly when CLEAN_CELLS holds; a row where it does
 * not (a cell to quote or to guard against formula injection) is read again by id, cell by cell.
 */
const JOINED_CELLS = CELL_COLUMNS.map((c) => (NULLABLE.has(c) ? `ifnull(${c}, '')` : c)).join(` || ',' || `);

/**
 * Nine cells, none holding a quote, comma, CR or LF (so exactly eight commas, the separators, and a
 * cell is what lies between two), none starting with a character of FORMULA: csvCell writes each as
 * it is, an empty string for NULL included.
 */
const CELL = /(?:[^",\r\n=+\-@\t\uFF1D\uFF0B\uFF0D\uFF20][^",\r\n]*)?/.source;
const CLEAN_CELLS = new RegExp(`^${CELL}(?:,${CELL}){${CELL_COLUMNS.length - 1}}$`);

/** Two-digit seconds and `.mmmZ` endings, for the part of an ISO time below the minute. */
const SECONDS = Array.from({ length: 60 }, (_, s) => String(s).padStart(2, '0'));
const MILLIS_Z = Array.from({ length: 1000 }, (_, ms) => `.${String(ms).padStart(3, '0')}Z`);
const MINUTE = 60_000;
const MAX_TIME = 8.64e15;

/**
 * `new Date(at).toISOString()`, with the part up to the minute (`2025-01-06T08:00:`) kept from the row
 * before: rows come in time order, so it changes once per minute of the log, not once per row.
 */
class IsoTimes {
  private minute = Number.NaN;
  private prefix = '';

  of(at: number): string {
    // Out of Date's range (throws as Date does) or not a whole millisecond (the column is INTEGER): as Date writes it.
    if (!(at >= -MAX_TIME && at <= MAX_TIME) || !Number.isInteger(at)) return new Date(at).toISOString();
    const minute = Math.floor(at / MINUTE);
    if (minute !== this.minute) {
      const iso = new Date(minute * MINUTE).toISOString();
      this.prefix = iso.slice(0, iso.length - '00.000Z'.length);
      this.minute = minute;
    }
    const rem = at - minute * MINUTE;
    return this.prefix + SECONDS[Math.floor(rem / 1000)]! + MILLIS_Z[rem % 1000]!;
  }
}

/**
 * CSV bytes straight off a better-sqlite3 iterator on a connection of its own, produced only as fast
 * as the consumer reads, a chunk of rows at a time (csv-stringify's stream API, one record per stream
 * write, took 7–8 s for a million rows, all of it per-record hand-offs). csv-stringify writes the
 * header; SQLite joins the cells from station to result (JOINED_CELLS), this class checks them
 * (CLEAN_CELLS) and writes the time and, per code, the code and hint cells, all to csv-stringify's rules.
 */
class CsvChunks extends Readable {
  private readonly rows: IterableIterator<LineRow>;
  /** One row's cells by id, on the iterator's connection: the same snapshot. */
  private readonly cellsById: Statement<[number], CellsRow>;
  private readonly times = new IsoTimes();
  /** `,code,hint[,hint_xx]\n` per code seen (key null: no code): a handful of codes, a million rows. */
  private readonly endings = new Map<string | null, string>();
  private first = true;

  constructor(
    private readonly conn: Database,
    sql: string,
    params: Array<string | number>,
    private readonly extra: CsvHintColumn | null,
  ) {
    super();
    this.cellsById = conn.prepare<[number], CellsRow>(`SELECT ${CELL_COLUMNS.join(', ')} FROM attempts WHERE id = ?`).raw();
    this.rows = conn.prepare<unknown[], LineRow>(sql).raw().iterate(...params) as IterableIterator<LineRow>;
  }

  /** The line's end after the result: the code, its hint (every coded row: all failures, and results flagged with a code such as SERIAL_MISMATCH), the extra hint. */
  private ending(code: string | null): string {
    let end = this.endings.get(code);
    if (end === undefined) {
      const c = code as FailureCode | null;
      end = `,${csvCell(c)},${c ? csvCell(FAILURE_HINTS[c]) : ''}`;
      if (this.extra) end += `,${c ? csvCell(this.extra.hintOf(c)) : ''}`;
      end += '\n';
      this.endings.set(code, end);
    }
    return end;
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
        const [at, id, joined, code] = next.value;
        const cells = CLEAN_CELLS.test(joined) ? joined : this.cellsById.get(id)!.map(csvCell).join(',');
        csv += `${this.times.of(at)},${cells}${this.ending(code)}`;
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
  const sql = `SELECT at, id, ${JOINED_CELLS}, code FROM attempts WHERE ${where.sql} ORDER BY at DESC, id DESC`;
  return new CsvChunks(openReader(), sql, where.params, extra);
}
