// The browser build of csv-parse: self-contained (no Node built-ins), bundled into the renderer by vite.
import { parse } from 'csv-parse/browser/esm/sync';
import { checkSerialLabel, type SerialLabelProblem } from '../../protocol/serial-format.js';

/**
 * A manifest from the returns system's file: a CSV export (the serial column chosen, or detected) or a
 * plain list, one serial a line. Every bad line is reported with its line number, and nothing is
 * imported until the whole file is valid: a half-imported manifest would judge devices wrongly.
 */
export const MAX_MANIFEST_SERIALS = 10_000;

export type ManifestLineProblem =
  | { line: number; text: string; kind: SerialLabelProblem['kind']; format?: string }
  | { line: number; text: string; kind: 'duplicate'; firstLine: number }
  | { line: number; text: string; kind: 'empty-cell' }
  | { line: number; text: string; kind: 'unreadable'; detail: string };

export interface ManifestFileResult {
  /** The file is valid: `serials` may be imported. */
  ok: boolean;
  serials: string[];
  problems: ManifestLineProblem[];
  /** The file has more serials than a batch takes. */
  tooMany: boolean;
  /** 'list': one serial a line; 'csv': columns split by `delimiter`. */
  kind: 'list' | 'csv';
  /** The columns of a CSV (their header names, or `null` for a file without a header). */
  columns: Array<string | null>;
  /** The column the serials were read from, and whether it was detected (not chosen). */
  column: { index: number; detected: boolean } | null;
  header: boolean;
}

const DELIMITERS = [',', ';', '\t'] as const;
// Header names of a serial column in the returns systems' exports (the five languages of the UI).
const SERIAL_HEADER = /^(serial|serials|serial ?(no|number|#)|sn|s\/n|seriennummer|序列号|序号|серийный номер|серийный|número de serie|numero de serie|số sê-ri|so seri)\.?$/i;

function cut(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** The delimiter of a CSV (the one the first non-empty line has most of), or null for a plain list. */
function detectDelimiter(lines: string[]): (typeof DELIMITERS)[number] | null {
  const first = lines.find((l) => l.trim()) ?? '';
  let best: (typeof DELIMITERS)[number] | null = null;
  let most = 0;
  for (const d of DELIMITERS) {
    const n = first.split(d).length - 1;
    if (n > most) [best, most] = [d, n];
  }
  return best;
}

function checkAll(entries: Array<{ line: number; text: string }>, format: string | null): Pick<ManifestFileResult, 'ok' | 'serials' | 'problems' | 'tooMany'> {
  const serials: string[] = [];
  const problems: ManifestLineProblem[] = [];
  const seen = new Map<string, number>();
  for (const { line, text } of entries) {
    if (!text) {
      problems.push({ line, text, kind: 'empty-cell' });
      continue;
    }
    const problem = checkSerialLabel(text, format);
    if (problem) problems.push({ line, text: cut(text), ...problem });
    else if (seen.has(text)) problems.push({ line, text, kind: 'duplicate', firstLine: seen.get(text)! });
    else {
      seen.set(text, line);
      serials.push(text);
    }
  }
  const tooMany = serials.length > MAX_MANIFEST_SERIALS;
  return { ok: problems.length === 0 && !tooMany && serials.length > 0, serials, problems, tooMany };
}

/**
 * Reads a manifest file. `format`: the product's serial format (null: labels are checked as labels).
 * `column`: the CSV column to read (its index); absent, the column where most cells are serials.
 */
export function parseManifestFile(text: string, opts: { format: string | null; column?: number }): ManifestFileResult {
  const body = text.replace(/^\uFEFF/, '');
  const lines = body.split(/\r?\n/);
  const delimiter = detectDelimiter(lines);
  if (delimiter === null) {
    const entries = lines.map((l, i) => ({ line: i + 1, text: l.trim() })).filter((e) => e.text);
    // A plain list may start with its header ("Serial"): a first line that names the column is not a serial.
    const header = entries.length > 0 && SERIAL_HEADER.test(entries[0]!.text);
    return { ...checkAll(header ? entries.slice(1) : entries, opts.format), kind: 'list', columns: [], column: null, header };
  }

  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(body, { delimiter, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    return {
      ok: false,
      serials: [],
      problems: [{ line: e.lines ?? 1, text: '', kind: 'unreadable', detail: e.message ?? 'not a CSV file' }],
      tooMany: false,
      kind: 'csv',
      columns: [],
      column: null,
      header: false,
    };
  }
  const width = Math.max(0, ...records.map((r) => r.record.length));
  const first = records[0]?.record ?? [];
  const isSerial = (cell: string | undefined): boolean => !!cell && checkSerialLabel(cell, opts.format) === null;
  // A header: the first row names a serial column, or has no serial where the rows below have them.
  const header =
    first.some((c) => SERIAL_HEADER.test(c)) || (records.length > 1 && !first.some(isSerial) && records.slice(1).some((r) => r.record.some(isSerial)));
  const rows = header ? records.slice(1) : records;
  const columns = Array.from({ length: width }, (_, i) => (header ? (first[i] ?? null) : null));

  let index = opts.column;
  const detected = index === undefined;
  if (index === undefined) {
    const named = header ? first.findIndex((c) => SERIAL_HEADER.test(c)) : -1;
    if (named >= 0) index = named;
    else {
      const scores = columns.map((_, i) => rows.filter((r) => isSerial(r.record[i])).length);
      index = scores.indexOf(Math.max(0, ...scores));
      if (index < 0) index = 0;
    }
  }
  const col = index;
  const entries = rows.map((r) => ({ line: r.info.lines, text: (r.record[col] ?? '').trim() }));
  return { ...checkAll(entries, opts.format), kind: 'csv', columns, column: { index: col, detected }, header };
}
