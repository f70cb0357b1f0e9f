import type { Database } from 'better-sqlite3';
import type { HistoryRow } from '../protocol/station-api.js';
import type { DaySummary, SummaryKey } from './day-summary.js';
import { ROW_COLUMNS, toHistoryRow, type AttemptRecord } from './history-row.js';
import { parseAttempt, parseAttempts, type ValidAttempt } from './new-attempt.js';

export interface AttemptWriter {
  record(input: unknown): HistoryRow | null;
  recordMany(input: unknown): number;
  adoptLocal(input: unknown, transportCodes: readonly string[]): HistoryRow | null;
  recordEach(input: unknown): Array<HistoryRow | null>;
}

/**
 * The only code that writes attempts. Each row goes into `attempts`, its device text into the
 * trigram index and its count into the day summary (migration 0004) in one transaction (no trigger:
 * see migration 0003), after zod has checked it.
 *
 * No RETURNING either: a RETURNING statement runs inside a statement savepoint, and FTS5 flushes its
 * pending terms at every savepoint, so each row became its own index segment (10× slower at 200,000
 * rows, and worse as the index grows). The row is rebuilt from the validated input and its rowid.
 */
const keyOf = (r: AttemptRecord): SummaryKey => ({ at: r.at, pid: r.pid, accountId: r.account_id, result: r.result, code: r.code });

export function createAttemptWriter(db: Database, summary: DaySummary): AttemptWriter {
  // DO NOTHING on a repeated (token_id, seq): `changes` is then 0, which is how a replayed authority
  // result is told apart from a new one.
  const insertAttempt = db.prepare<ValidAttempt>(
    `INSERT INTO attempts (at, station_id, operator, account_id, method, batch_id, pid, dev_id, serial, result, code, token_id, seq)
     VALUES (@at, @stationId, @operator, @accountId, @method, @batchId, @pid, @devId, @serial, @result, @code, @tokenId, @seq)
     ON CONFLICT (token_id, seq) DO NOTHING`,
  );
  const insertText = db.prepare<[number, string, string | null]>('INSERT INTO attempts_text (rowid, dev_id, serial) VALUES (?, ?, ?)');

  /** Returns the new row's id, or null for a duplicate. */
  const insertOne = (a: ValidAttempt): number | null => {
    const info = insertAttempt.run(a);
    if (info.changes === 0) return null;
    const id = Number(info.lastInsertRowid);
    insertText.run(id, a.devId, a.serial);
    return id;
  };
  const recordOne = db.transaction((a: ValidAttempt) => {
    const id = insertOne(a);
    if (id !== null) summary.add([a]);
    return id;
  });
  // The newest row the station wrote itself (no seq) for this device and token in this batch that the
  // authority's result stands for: a transport failure or no report, or the device's own word for the same
  // result (whatever its code: the station may flag the authority's UNBOUND SERIAL_MISMATCH).
  const localRow = db.prepare<Record<string, unknown>, { id: number }>(
    `SELECT id FROM attempts
      WHERE batch_id = @batchId AND dev_id = @devId AND token_id = @tokenId AND seq IS NULL
        AND (code IN (SELECT value FROM json_each(@transport)) OR result = @result)
      ORDER BY id DESC LIMIT 1`,
  );
  // OR IGNORE: a (token_id, seq) stored already leaves the local row as it is (changes 0).
  const adopt = db.prepare('UPDATE OR IGNORE attempts SET at = @at, result = @result, code = @code, seq = @seq WHERE id = @id');
  const rowById = db.prepare<[number], AttemptRecord>(`SELECT ${ROW_COLUMNS} FROM attempts WHERE id = ?`);
  const adoptOne = db.transaction((a: ValidAttempt, transport: string): AttemptRecord | null => {
    if (a.batchId === null || a.tokenId === null || a.seq === null) return null;
    const local = localRow.get({ batchId: a.batchId, devId: a.devId, tokenId: a.tokenId, transport, result: a.result });
    if (!local) return null;
    const before = rowById.get(local.id)!;
    if (adopt.run({ id: local.id, at: a.at, result: a.result, code: a.code, seq: a.seq }).changes === 0) return null;
    // The row now counts on its new day and under its new result: the day summary moves it too.
    const after = rowById.get(local.id)!;
    summary.remove([keyOf(before)]);
    summary.add([keyOf(after)]);
    return after;
  });
  const recordRows = db.transaction((list: ValidAttempt[]) => {
    const ids = list.map(insertOne);
    summary.add(list.filter((_, i) => ids[i] !== null));
    return ids;
  });
  const rowOf = (id: number, a: ValidAttempt): HistoryRow =>
    toHistoryRow({
      id,
      at: a.at,
      station_id: a.stationId,
      operator: a.operator,
      account_id: a.accountId,
      method: a.method,
      batch_id: a.batchId,
      pid: a.pid,
      dev_id: a.devId,
      serial: a.serial,
      result: a.result,
      code: a.code,
      token_id: a.tokenId,
    });
  const recordAll = db.transaction((list: ValidAttempt[]) => {
    const stored: ValidAttempt[] = [];
    for (const a of list) if (insertOne(a) !== null) stored.push(a);
    summary.add(stored);
    return stored.length;
  });

  return {
    record(input) {
      const a = parseAttempt(input);
      const id = recordOne.immediate(a);
      return id === null ? null : rowOf(id, a);
    },
    adoptLocal(input, transportCodes) {
      const row = adoptOne.immediate(parseAttempt(input), JSON.stringify(transportCodes));
      return row && toHistoryRow(row);
    },
    recordMany(input) {
      // Validate the whole list before the transaction starts: a bad row writes nothing.
      return recordAll.immediate(parseAttempts(input));
    },
    recordEach(input) {
      // As recordMany (all validated first, one transaction: one commit and one index segment for the
      // lot), answering what record answers for each: its row, or null for a repeat.
      const list = parseAttempts(input);
      const ids = recordRows.immediate(list);
      return list.map((a, i) => (ids[i] === null ? null : rowOf(ids[i]!, a)));
    },
  };
}
