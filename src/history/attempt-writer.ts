import type { Database } from 'better-sqlite3';
import type { HistoryRow } from '../protocol/station-api.js';
import { toHistoryRow } from './history-row.js';
import { parseAttempt, parseAttempts, type ValidAttempt } from './new-attempt.js';

export interface AttemptWriter {
  record(input: unknown): HistoryRow | null;
  recordMany(input: unknown): number;
  recordEach(input: unknown): Array<HistoryRow | null>;
}

/**
 * The only code that writes attempts. Each row goes into `attempts` and its device text into the
 * trigram index in one transaction (no trigger: see migration 0003), after zod has checked it.
 *
 * No RETURNING either: a RETURNING statement runs inside a statement savepoint, and FTS5 flushes its
 * pending terms at every savepoint, so each row became its own index segment (10× slower at 200,000
 * rows, and worse as the index grows). The row is rebuilt from the validated input and its rowid.
 */
export function createAttemptWriter(db: Database): AttemptWriter {
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
  const recordOne = db.transaction((a: ValidAttempt) => insertOne(a));
  const recordRows = db.transaction((list: ValidAttempt[]) => list.map(insertOne));
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
    let stored = 0;
    for (const a of list) if (insertOne(a) !== null) stored++;
    return stored;
  });

  return {
    record(input) {
      const a = parseAttempt(input);
      const id = recordOne.immediate(a);
      return id === null ? null : rowOf(id, a);
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
