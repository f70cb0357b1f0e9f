import type { FailureCode, UnbindResult } from '../protocol/failure-codes.js';
import type { HistoryMethod, HistoryRow } from '../protocol/station-api.js';

/** A row of `attempts` as SQLite returns it. */
export interface AttemptRecord {
  id: number;
  at: number;
  station_id: string;
  operator: string;
  account_id: string;
  method: string;
  batch_id: string | null;
  pid: string | null;
  dev_id: string;
  serial: string | null;
  result: string;
  code: string | null;
  token_id: string | null;
}

/** The columns every read selects, in the order of AttemptRecord (seq stays internal). */
export const ROW_COLUMNS = 'id, at, station_id, operator, account_id, method, batch_id, pid, dev_id, serial, result, code, token_id';

/** Rows were validated on the way in (zod at record()), so their enums are trusted on the way out. */
export function toHistoryRow(r: AttemptRecord): HistoryRow {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    stationId: r.station_id,
    operator: r.operator,
    accountId: r.account_id,
    method: r.method as HistoryMethod,
    batchId: r.batch_id,
    pid: r.pid,
    devId: r.dev_id,
    serial: r.serial,
    result: r.result as UnbindResult,
    code: r.code as FailureCode | null,
    tokenId: r.token_id,
  };
}
