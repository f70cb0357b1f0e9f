import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryScope } from '../../src/history/index.js';
import { allPages, attempt, openTempHistory, parseCsv, readAll, type TempHistory } from './history-fixtures.js';

/**
 * DESIGN §7: an account sees the operations on the products it may unbind; partners only their own.
 * The owner owns cam-c6n and nvr-n8w. Partner A holds a partner grant on cam-c6n. An after-sale
 * member of the owner's space has a role covering nvr-n8w only. Another vendor owns gw-other.
 */
const OWNER: HistoryScope = { accountId: 'acc-owner', allPids: ['cam-c6n', 'nvr-n8w'], ownPids: [] };
const PARTNER_A: HistoryScope = { accountId: 'acc-partner-a', allPids: [], ownPids: ['cam-c6n'] };
const AFTER_SALE: HistoryScope = { accountId: 'acc-aftersale', allPids: ['nvr-n8w'], ownPids: [] };
const OUTSIDER: HistoryScope = { accountId: 'acc-outsider', allPids: ['gw-other'], ownPids: [] };
const PARTNER_B: HistoryScope = { accountId: 'acc-partner-b', allPids: [], ownPids: ['cam-c6n'] };

let h: TempHistory;
beforeAll(() => {
  h = openTempHistory();
  h.store.recordMany([
    attempt({ accountId: 'acc-owner', pid: 'cam-c6n', devId: 'owner-c6n' }),
    attempt({ accountId: 'acc-owner', pid: 'nvr-n8w', devId: 'owner-n8w' }),
    attempt({ accountId: 'acc-partner-a', pid: 'cam-c6n', devId: 'partner-a-c6n' }),
    attempt({ accountId: 'acc-partner-a', pid: 'cam-c6n', devId: 'partner-a-c6n-failed', result: 'FAILED', code: 'WIFI_AUTH' }),
    attempt({ accountId: 'acc-partner-b', pid: 'cam-c6n', devId: 'partner-b-c6n' }),
    attempt({ accountId: 'acc-aftersale', pid: 'nvr-n8w', devId: 'aftersale-n8w' }),
    attempt({ accountId: 'acc-outsider', pid: 'gw-other', devId: 'outsider-gw' }),
    // A device the authority did not know: no product. Seen by the account that tried it, by no one else.
    attempt({ accountId: 'acc-partner-a', pid: null, devId: 'partner-a-unknown', result: 'FAILED', code: 'DEVICE_UNKNOWN' }),
    attempt({ accountId: 'acc-owner', pid: null, devId: 'owner-unknown', result: 'FAILED', code: 'DEVICE_UNKNOWN' }),
  ]);
});
afterAll(() => {
  h.cleanup();
});

const devices = (scope: HistoryScope, q = {}): string[] => allPages(h.store, scope, q).map((r) => r.devId).sort();

describe('who sees which attempts', () => {
  it('given the owner, then it sees every attempt on its products, whoever made it, and its own unknown devices', () => {
    expect(devices(OWNER)).toEqual(['aftersale-n8w', 'owner-c6n', 'owner-n8w', 'owner-unknown', 'partner-a-c6n', 'partner-a-c6n-failed', 'partner-b-c6n']);
  });

  it('given a partner, then it sees only its own attempts on the granted product, and its own unknown devices', () => {
    expect(devices(PARTNER_A)).toEqual(['partner-a-c6n', 'partner-a-c6n-failed', 'partner-a-unknown']);
    expect(devices(PARTNER_B)).toEqual(['partner-b-c6n']);
  });

  it('given a space role covering one product, then it sees every attempt on that product and nothing of the others', () => {
    expect(devices(AFTER_SALE)).toEqual(['aftersale-n8w', 'owner-n8w']);
  });

  it('given an account with no grant on these products, then it sees none of them', () => {
    expect(devices(OUTSIDER)).toEqual(['outsider-gw']);
    expect(devices({ accountId: 'acc-nobody', allPids: [], ownPids: [] })).toEqual([]);
  });

  it('given a product filter outside the scope, then the answer is empty, not an error and not a leak', () => {
    expect(devices(PARTNER_A, { pid: 'nvr-n8w' })).toEqual([]);
    expect(devices(OUTSIDER, { pid: 'cam-c6n' })).toEqual([]);
    expect(devices(PARTNER_A, { pid: 'cam-c6n' })).toEqual(['partner-a-c6n', 'partner-a-c6n-failed']);
    expect(devices(OWNER, { pid: 'cam-c6n' })).toEqual(['owner-c6n', 'partner-a-c6n', 'partner-a-c6n-failed', 'partner-b-c6n']);
  });

  it('given a product in both lists, then the wider grant wins', () => {
    expect(devices({ accountId: 'acc-partner-a', allPids: ['cam-c6n'], ownPids: ['cam-c6n'] }, { pid: 'cam-c6n' })).toHaveLength(4);
  });

  it('given filters that would find other accounts’ rows (text, batch), then the scope still applies', () => {
    expect(devices(PARTNER_A, { text: '-c6n' })).toEqual(['partner-a-c6n', 'partner-a-c6n-failed']);
    expect(devices(PARTNER_A, { text: 'owner' })).toEqual([]);
    expect(devices(PARTNER_A, { text: 'partner-b' })).toEqual([]);
    expect(devices(PARTNER_A, { batchId: 'b-20250310-aaaaaa' })).toEqual(['partner-a-c6n', 'partner-a-c6n-failed', 'partner-a-unknown']);
  });

  it('given stats and the CSV export, then they count and list exactly what the query shows', async () => {
    for (const scope of [OWNER, PARTNER_A, AFTER_SALE, OUTSIDER]) {
      const stats = h.store.stats(scope, {});
      expect(stats.total).toBe(devices(scope).length);
      const csv = parseCsv(await readAll(h.store.exportCsv(scope, {})));
      expect(csv.records.map((r) => r.device).sort()).toEqual(devices(scope));
    }
    expect(h.store.stats(PARTNER_A, {}).byCode).toEqual([
      { code: 'DEVICE_UNKNOWN', count: 1 },
      { code: 'UNBOUND', count: 1 },
      { code: 'WIFI_AUTH', count: 1 },
    ]);
  });

  it('given the batch engine, then batchAttempts reads a batch whole, regardless of any account’s scope', () => {
    expect(h.store.batchAttempts('b-20250310-aaaaaa')).toHaveLength(9);
    expect(h.store.batchAttempts('b-unknown')).toEqual([]);
  });
});
