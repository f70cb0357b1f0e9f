import type { Database } from 'better-sqlite3';
import type { Channel, DeviceLogQuery, DeviceLogView, DeviceResult, FailureCode, Page, UnbindMethod, UnbindResult } from '../protocol/index.js';
import { seesAllOperations, type GrantResolver } from './grants.js';
import { AuthorityError } from './errors.js';

/**
 * The authority's device log: one row per checked unbind request, scoped per DESIGN §7 on read — except
 * that repeated identical token-less failures (a flood of forgeries) fold into one row with a count.
 */
export interface LogRow {
  id: number;
  at: number;
  dev_id: string;
  serial: string | null;
  pid: string | null;
  region: string | null;
  operator_id: string | null;
  token_id: string | null;
  channel: Channel | null;
  batch_ref: string | null;
  result: UnbindResult;
  reason: FailureCode | null;
  /** `local` for a device unbound with its admin password (DESIGN §4.8), else `token`. */
  method: UnbindMethod;
  /** Requests folded into this row, from `at` (the first) to `last_at` (the last). */
  count: number;
  last_at: number;
}

export type NewLog = Omit<LogRow, 'id' | 'count' | 'last_at'>;

/**
 * A failure that names no token folds into the device's latest row of the same failure when that row's
 * last request is at most this old: a flood becomes one row per reason, a failure after a pause a new one.
 */
export const FOLD_GAP_MS = 10 * 60_000;
const foldable = (r: Pick<LogRow, 'result' | 'token_id'>): boolean => r.result === 'FAILED' && r.token_id === null;

export function toDeviceResult(r: LogRow): DeviceResult {
  return { seq: r.id, at: new Date(r.at).toISOString(), devId: r.dev_id, serial: r.serial, pid: r.pid, result: r.result, reason: r.reason };
}

export function toView(r: LogRow): DeviceLogView {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    devId: r.dev_id,
    serial: r.serial,
    pid: r.pid,
    region: r.region,
    operator: r.operator_id,
    tokenId: r.token_id,
    channel: r.channel,
    batchRef: r.batch_ref,
    result: r.result,
    reason: r.reason,
    count: r.count,
    firstAt: new Date(r.at).toISOString(),
    lastAt: new Date(r.last_at).toISOString(),
    method: r.method,
  };
}

export const encodeCursor = (id: number): string => Buffer.from(`L${id}`).toString('base64url');
export function decodeCursor(c: string): number {
  const s = Buffer.from(c, 'base64url').toString();
  const id = /^L(\d{1,15})$/.exec(s)?.[1];
  if (!id) throw new AuthorityError(400, 'BAD_CURSOR', 'cursor is not one this authority gave');
  return Number(id);
}

export interface DeviceLogs {
  /** One checked request; a token-less failure may fold into the device's latest row (then that row). */
  append(row: NewLog): LogRow;
  /**
   * `count` requests of a known device refused unchecked (`reason`, e.g. RATE_LIMITED) between `firstAt`
   * and `lastAt`, folded like `append`; nothing is kept for a device the authority does not know.
   */
  appendUnchecked(devId: string, reason: FailureCode, count: number, firstAt: number, lastAt: number): void;
  forToken(tokenId: string, afterSeq?: number): LogRow[];
  query(accountId: string, q: DeviceLogQuery): Page<DeviceLogView>;
}

export function createDeviceLogs(db: Database, grants: GrantResolver): DeviceLogs {
  const insert = db.prepare(
    `INSERT INTO device_logs (at, dev_id, serial, pid, region, operator_id, token_id, channel, batch_ref, result, reason, method, count, last_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const latestOf = db.prepare<[string, string | null, UnbindMethod], LogRow>(
    "SELECT * FROM device_logs WHERE dev_id = ? AND result = 'FAILED' AND token_id IS NULL AND reason IS ? AND method = ? ORDER BY id DESC LIMIT 1",
  );
  const fold = db.prepare<[number, number, number], LogRow>('UPDATE device_logs SET count = count + ?, last_at = max(last_at, ?) WHERE id = ? RETURNING *');
  const deviceOf = db.prepare<[string], { serial: string; pid: string; region: string }>('SELECT serial, pid, region FROM devices WHERE dev_id = ?');
  /** The device's latest row, if `row` is the same failure repeated soon enough to fold into it. */
  const foldTarget = (row: NewLog): LogRow | undefined => {
    if (!foldable(row)) return undefined;
    const last = latestOf.get(row.dev_id, row.reason, row.method);
    return last && row.at - last.last_at <= FOLD_GAP_MS ? last : undefined;
  };
  const appendCounted = (row: NewLog, count: number, lastAt: number): LogRow => {
    const target = foldTarget(row);
    if (target) return fold.get(count, lastAt, target.id)!;
    // Positional parameters: binding an object by name costs a lookup per column on every unbind.
    const info = insert.run(row.at, row.dev_id, row.serial, row.pid, row.region, row.operator_id, row.token_id, row.channel, row.batch_ref, row.result, row.reason, row.method, count, lastAt);
    return { id: Number(info.lastInsertRowid), ...row, count, last_at: lastAt };
  };
  const byToken = db.prepare<[string, number], LogRow>('SELECT * FROM device_logs WHERE token_id = ? AND id > ? ORDER BY id');
  const scoped = db.prepare<Record<string, string | number | null>, LogRow>(`
    SELECT * FROM device_logs
     WHERE (pid IN (SELECT value FROM json_each(@allPids))
            OR (pid IN (SELECT value FROM json_each(@ownPids)) AND operator_id = @me))
       AND (@before IS NULL OR id < @before)
       AND (@from IS NULL OR at >= @from) AND (@to IS NULL OR at < @to)
       AND (@pid IS NULL OR pid = @pid) AND (@devId IS NULL OR dev_id = @devId)
       AND (@operator IS NULL OR operator_id = @operator) AND (@result IS NULL OR result = @result)
       AND (@reason IS NULL OR reason = @reason) AND (@tokenId IS NULL OR token_id = @tokenId)
     ORDER BY id DESC LIMIT @limit`);
  return {
    append: (row) => appendCounted(row, 1, row.at),
    appendUnchecked(devId, reason, count, firstAt, lastAt) {
      const dev = deviceOf.get(devId);
      if (!dev || count < 1) return;
      const row: NewLog = { at: firstAt, dev_id: devId, ...dev, operator_id: null, token_id: null, channel: null, batch_ref: null, result: 'FAILED', reason, method: 'token' };
      appendCounted(row, count, lastAt);
    },
    forToken: (tokenId, afterSeq = 0) => byToken.all(tokenId, afterSeq),
    query(accountId, q) {
      const allPids: string[] = [];
      const ownPids: string[] = [];
      for (const p of grants.unbindableProducts(accountId)) (seesAllOperations({ kind: p.grant }) ? allPids : ownPids).push(p.pid);
      const limit = q.limit ?? 100;
      const rows = scoped.all({
        me: accountId,
        allPids: JSON.stringify(allPids),
        ownPids: JSON.stringify(ownPids),
        before: q.cursor ? decodeCursor(q.cursor) : null,
        from: q.from ? Date.parse(q.from) : null,
        to: q.to ? Date.parse(q.to) : null,
        pid: q.pid ?? null,
        devId: q.devId ?? null,
        operator: q.operator ?? null,
        result: q.result ?? null,
        reason: q.reason ?? null,
        tokenId: q.tokenId ?? null,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return { items: page.map(toView), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
    },
  };
}
