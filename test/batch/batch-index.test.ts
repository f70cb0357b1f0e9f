import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../src/protocol/index.js';
import { BatchIndex, codeViews, tallyOf } from '../../src/batch/batch-index.js';
import type { BatchCodeRecord, BatchRecord } from '../../src/batch/batch-records.js';

const batch: BatchRecord = { id: 'b-1', createdAt: 0, method: 'qr', pid: 'pqr1cam', accountId: 'acc', operator: 'Ana', status: 'running', ssid: 'lab', expected: 3, manifest: null, endedAt: null, stop: null };
let nextId = 1;
const row = (devId: string, result: HistoryRow['result'], code: HistoryRow['code'] = null, tokenId: string | null = 'tok00001'): HistoryRow => ({
  id: nextId++,
  at: new Date(0).toISOString(),
  stationId: 's',
  operator: 'Ana',
  accountId: 'acc',
  method: 'qr',
  batchId: 'b-1',
  pid: 'pqr1cam',
  devId,
  serial: null,
  result,
  code,
  tokenId,
});

describe('batch tally and code usage', () => {
  it('a device unbound, then refused TOKEN_REUSED when it scans the code again, counts as unbound', () => {
    expect(tallyOf(batch, [row('d1', 'UNBOUND'), row('d1', 'FAILED', 'TOKEN_REUSED')])).toEqual({ unbound: 1, notBound: 0, failed: 0, pending: 2 });
  });

  it('the authority’s UNBOUND wins over a later station-side TIMEOUT; among failures the latest counts', () => {
    const t = tallyOf(batch, [row('d1', 'UNBOUND'), row('d1', 'FAILED', 'TIMEOUT', null), row('d2', 'FAILED', 'TIMEOUT'), row('d2', 'FAILED', 'NETWORK_CHANGED')]);
    expect(t).toEqual({ unbound: 1, notBound: 0, failed: 1, pending: 1 });
  });

  it('a device reported by both the station and the authority takes one place on its code', () => {
    const code: BatchCodeRecord = { batchId: 'b-1', index: 0, tokenId: 'tok00001', token: 'EUtok00001secret', capacity: 2, expiresAt: Date.now() + 60_000, ended: null };
    const [view] = codeViews([code], [row('d1', 'UNBOUND'), row('d1', 'UNBOUND'), row('d2', 'FAILED', 'UNAUTHORIZED')], Date.now());
    expect(view).toMatchObject({ used: 1, status: 'active' });
  });
});

describe('batch index waiters', () => {
  it('a device’s result resolves the one waiting for it; a wait that is given up answers null', async () => {
    const { BatchIndex } = await import('../../src/batch/batch-index.js');
    const index = new BatchIndex();
    const waiting = index.waitFor('d1');
    const stop = new AbortController();
    const givenUp = index.waitFor('d2', stop.signal);
    index.add(row('d1', 'UNBOUND'));
    stop.abort();
    expect(await waiting).toMatchObject({ devId: 'd1', result: 'UNBOUND' });
    expect(await givenUp).toBeNull();
    expect(index.tally(batch)).toEqual({ unbound: 1, notBound: 0, failed: 0, pending: 2 });
    expect(await index.waitFor('d1')).toMatchObject({ devId: 'd1' }); // already known: at once
  });
});

describe('a station row replaced by the authority’s result', () => {
  const row = (id: number, devId: string, result: HistoryRow['result'], code: HistoryRow['code'], tokenId: string | null = 'tok00001'): HistoryRow => ({
    id,
    at: new Date(0).toISOString(),
    stationId: 'st',
    operator: 'op',
    accountId: 'acc',
    method: 'wired',
    batchId: 'b',
    pid: 'p1',
    devId,
    serial: null,
    result,
    code,
    tokenId,
  });

  it('given a transport failure counted as failed, when it is replaced by UNBOUND, then the device counts once, unbound, in its place, and its token place is taken', () => {
    const index = new BatchIndex([row(1, 'dev-a', 'FAILED', 'CLOUD_UNREACHABLE'), row(2, 'dev-b', 'UNBOUND', null)]);
    expect(index.tally({ status: 'running', expected: 2 })).toMatchObject({ unbound: 1, failed: 1, pending: 0 });
    index.replace(1, row(1, 'dev-a', 'UNBOUND', null));
    expect(index.tally({ status: 'running', expected: 2 })).toEqual({ unbound: 2, notBound: 0, failed: 0, pending: 0 });
    expect(index.rows().map((r) => [r.id, r.devId, r.result])).toEqual([
      [1, 'dev-a', 'UNBOUND'],
      [2, 'dev-b', 'UNBOUND'],
    ]);
    const code: BatchCodeRecord = { batchId: 'b', index: 0, tokenId: 'tok00001', token: 'EUtok00001secret', capacity: 2, expiresAt: Date.now() + 60_000, ended: null };
    expect(index.codeView(code, Date.now())).toMatchObject({ used: 2, status: 'exhausted' });
  });

  it('given views read before and after a row is added or replaced, then each read shows the rows as they are then (newest first), and a device’s rows follow the replacement', () => {
    const index = new BatchIndex([row(1, 'dev-a', 'FAILED', 'CLOUD_UNREACHABLE'), row(2, 'dev-b', 'UNBOUND', null)]);
    const before = index.resultViews();
    expect(before.map((v) => [v.devId, v.result])).toEqual([
      ['dev-b', 'UNBOUND'],
      ['dev-a', 'FAILED'],
    ]);
    index.add(row(3, 'dev-c', 'NOT_BOUND', null));
    index.replace(1, row(1, 'dev-a', 'UNBOUND', null));
    expect(index.resultViews().map((v) => [v.devId, v.result, v.code])).toEqual([
      ['dev-c', 'NOT_BOUND', null],
      ['dev-b', 'UNBOUND', null],
      ['dev-a', 'UNBOUND', null],
    ]);
    expect(before.map((v) => v.devId)).toEqual(['dev-b', 'dev-a']); // an earlier answer is not changed under its reader
    expect(index.rowsOf('dev-a').map((r) => [r.id, r.result])).toEqual([[1, 'UNBOUND']]);
    expect(index.rowsOf('nobody')).toEqual([]);
    expect(Object.isFrozen(index.resultViews()[0])).toBe(true);
  });
});
