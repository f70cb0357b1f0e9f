import type { Database } from 'better-sqlite3';
import type { HistoryRow } from '../protocol/station-api.js';
import type { DaySummary } from './day-summary.js';
import { toHistoryRow } from './history-row.js';
import { parseAttempt, parseAttempts, type ValidAttempt } from './new-attempt.js';

export interface AttemptWriter {
  record(input: unknown): HistoryRow | null;
  recordMany(input: unknown): number;
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
      if (id === null) return null;
      return toHistoryRow({
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
    },
    recordMany(input) {
      // Validate the whole list before the transaction starts: a bad row writes nothing.
      return recordAll.immediate(parseAttempts(input));
    },
  };
}
