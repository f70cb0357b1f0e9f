import type { Database } from 'better-sqlite3';
import type { Channel, DeviceLogQuery, DeviceLogView, DeviceResult, FailureCode, Page, UnbindResult } from '../protocol/index.js';
import { seesAllOperations, type GrantResolver } from './grants.js';
import { AuthorityError } from './errors.js';

/** The authority's device log: one row per checked unbind request, scoped per DESIGN §7 on read. */
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
}

export type NewLog = Omit<LogRow, 'id'>;

export function toDeviceResult(r: LogRow): DeviceResult {
  return { seq: r.id, at: new Date(r.at).toISOString(), devId: r.dev_id, serial: r.serial, pid: r.pid, result: r.result, reason: r.reason };
}

function toView(r: LogRow): DeviceLogView {
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
  };
}

const encodeCursor = (id: number): string => Buffer.from(`L${id}`).toString('base64url');
function decodeCursor(c: string): number {
  const s = Buffer.from(c, 'base64url').toString();
  const id = /^L(\d{1,15})$/.exec(s)?.[1];
  if (!id) throw new AuthorityError(400, 'BAD_CURSOR', 'cursor is not one this authority gave');
  return Number(id);
}

export interface DeviceLogs {
  append(row: NewLog): LogRow;
  forToken(tokenId: string, afterSeq?: number): LogRow[];
  query(accountId: string, q: DeviceLogQuery): Page<DeviceLogView>;
}

export function createDeviceLogs(db: Database, grants: GrantResolver): DeviceLogs {
  const insert = db.prepare(
    `INSERT INTO device_logs (at, dev_id, serial, pid, region, operator_id, token_id, channel, batch_ref, result, reason)
     VALUES (@at, @dev_id, @serial, @pid, @region, @operator_id, @token_id, @channel, @batch_ref, @result, @reason)`,
  );
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
    append(row) {
      const info = insert.run(row);
      return { id: Number(info.lastInsertRowid), ...row };
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
