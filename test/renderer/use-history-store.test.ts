import { beforeEach, describe, expect, it } from 'vitest';
import type { HistoryQuery, HistoryRow, Page } from '../../src/protocol/station-api.js';
import { EMPTY_HISTORY_FILTERS } from '../../src/renderer/lib/history-filters.js';
import { HISTORY_PAGE_SIZE, useHistoryStore } from '../../src/renderer/stores/use-history-store.js';
import { createFakeStationApi, installStores, type FakeStationApi } from './support/fake-station-api.js';

function row(id: number, over: Partial<HistoryRow> = {}): HistoryRow {
  return { id, at: '2025-03-01T10:00:00.000Z', stationId: 'st-1', operator: 'Ana', accountId: 'acc-owner', method: 'qr', batchId: 'b1', pid: 'pqr1cam', devId: `dev-${id}`, serial: null, result: 'UNBOUND', code: null, tokenId: null, ...over };
}

/** Three pages of two rows for any query; the cursor is the next row id. */
function pagedHistory(q: HistoryQuery): Page<HistoryRow> {
  const start = q.cursor ? Number(q.cursor.slice(1)) : 1;
  const items = [row(start, { pid: q.pid ?? 'pqr1cam' }), row(start + 1, { pid: q.pid ?? 'pqr1cam' })];
  return { items, nextCursor: start + 2 <= 5 ? `c${start + 2}` : null };
}

describe('history store', () => {
  let api: FakeStationApi;
  beforeEach(() => {
    api = createFakeStationApi({
      queryHistory: async (q) => pagedHistory(q),
      historyStats: async () => ({ byCode: [{ code: 'UNBOUND', count: 6 }], byDay: [{ day: '2025-03-01', unbound: 6, notBound: 0, failed: 0 }], total: 6 }),
      exportHistoryCsv: async (q) => ({ url: `/api/history.csv?pid=${q.pid ?? ''}`, savedTo: null }),
    });
    installStores(api);
  });

  it('given a search, when the operator loads more, then pages append until there are no more', async () => {
    const history = useHistoryStore();
    await history.search();
    expect(history.rows.map((r) => r.id)).toEqual([1, 2]);
    expect(history.stats?.total).toBe(6);
    expect(history.hasMore).toBe(true);
    await history.loadMore();
    await history.loadMore();
    expect(history.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(history.hasMore).toBe(false);
    expect(api.callsOf('queryHistory').map(([q]) => q)).toEqual([{ limit: HISTORY_PAGE_SIZE }, { limit: HISTORY_PAGE_SIZE, cursor: 'c3' }, { limit: HISTORY_PAGE_SIZE, cursor: 'c5' }]);
  });

  it('when the filters change, then the pages start again from the first, with the new filters', async () => {
    const history = useHistoryStore();
    await history.search();
    await history.loadMore();
    await history.search({ ...EMPTY_HISTORY_FILTERS, pid: 'oldnvr', result: 'FAILED' });
    expect(history.rows.map((r) => r.id)).toEqual([1, 2]);
    expect(history.rows.every((r) => r.pid === 'oldnvr')).toBe(true);
    expect(api.callsOf('queryHistory').at(-1)).toEqual([{ pid: 'oldnvr', result: 'FAILED', limit: HISTORY_PAGE_SIZE }]);
    expect(api.callsOf('historyStats').at(-1)).toEqual([{ pid: 'oldnvr', result: 'FAILED' }]);
  });

  it('when an older search answers after a newer one, then its rows are dropped', async () => {
    let release: () => void = () => undefined;
    api.answers.queryHistory = (q) =>
      q.pid === 'slowpid'
        ? new Promise((resolve) => {
            release = () => resolve({ items: [row(99, { pid: 'slowpid' })], nextCursor: null });
          })
        : Promise.resolve(pagedHistory(q));
    const history = useHistoryStore();
    const slow = history.search({ ...EMPTY_HISTORY_FILTERS, pid: 'slowpid' });
    await history.search({ ...EMPTY_HISTORY_FILTERS, pid: 'fastpid' });
    release();
    await slow;
    expect(history.rows.map((r) => r.pid)).toEqual(['fastpid', 'fastpid']);
  });

  it('when the station refuses, then the error is kept and the table is empty', async () => {
    api.answers.queryHistory = async () => {
      throw new Error('boom');
    };
    const history = useHistoryStore();
    await history.search();
    expect(history.rows).toEqual([]);
    expect(history.error).toEqual({ code: 'UNEXPECTED', message: 'boom' });
  });

  describe('CSV export', () => {
    it('is not asked before the operator asks (Electron would open a save dialog)', async () => {
      const history = useHistoryStore();
      await history.search();
      expect(api.callsOf('exportHistoryCsv')).toEqual([]);
      expect(history.csvUrl).toBeNull();
    });

    it('given the transport exports by link, then the link follows the filters, without paging', async () => {
      const history = useHistoryStore();
      await history.search();
      await history.prepareCsv();
      expect(history.csvUrl).toBe('/api/history.csv?pid=');
      await history.search({ ...EMPTY_HISTORY_FILTERS, pid: 'pqr1cam' });
      expect(history.csvUrl).toBe('/api/history.csv?pid=pqr1cam');
      expect(api.callsOf('exportHistoryCsv').at(-1)).toEqual([{ pid: 'pqr1cam' }]);
    });

    it('given the transport saves the file, then where it went is shown and nothing is asked again on search', async () => {
      api.answers.exportHistoryCsv = async () => ({ url: null, savedTo: '/home/bench/unbind-history.csv' });
      const history = useHistoryStore();
      await history.search();
      await history.prepareCsv();
      expect(history.csvSavedTo).toBe('/home/bench/unbind-history.csv');
      await history.search({ ...EMPTY_HISTORY_FILTERS, pid: 'pqr1cam' });
      expect(api.callsOf('exportHistoryCsv')).toHaveLength(1);
      expect(history.csvSavedTo).toBeNull();
    });
  });
});
