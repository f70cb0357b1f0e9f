import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryQuery } from '../../src/protocol/station-api.js';
import { DEFAULT_PAGE_LIMIT, HistoryInputError, type NewAttempt } from '../../src/history/index.js';
import { createTextPlanner, DENSE_TEXT_MATCHES } from '../../src/history/text-search.js';
import { openHistoryReader } from '../../src/history/operation-log-database.js';
import { allPages, attempt, OWNER, openTempHistory, T0, type TempHistory } from './history-fixtures.js';

const HOUR = 3_600_000;
const PIDS = ['cam-c6n', 'cam-h6c', 'nvr-n8w'] as const;
const OPERATORS = ['Ana Ruiz', 'Ben Okafor', 'Zoë Martín'] as const;
const METHODS = ['qr', 'wired', 'serial'] as const;
const CODES = ['WIFI_AUTH', 'NO_REPORT', 'TIMEOUT'] as const;

let h: TempHistory;
/** What was recorded, with the id the store gave each: the oracle filters this list in plain JS. */
let seeded: Array<NewAttempt & { id: number }>;

beforeAll(() => {
  h = openTempHistory();
  seeded = [];
  for (let i = 0; i < 240; i++) {
    const failed = i % 7 === 0;
    const a = attempt({
      at: T0 + Math.floor(i / 3) * HOUR + (i % 3) * 1000, // some share an hour, spread over ~3 days
      pid: PIDS[i % 3],
      operator: OPERATORS[Math.floor(i / 5) % 3],
      method: METHODS[i % 3 === 0 ? 0 : Math.floor(i / 2) % 3],
      batchId: `b-${Math.floor(i / 30)}`,
      result: failed ? 'FAILED' : i % 11 === 0 ? 'NOT_BOUND' : 'UNBOUND',
      code: failed ? CODES[i % 3] : null,
      devId: `dev-${i % 2 ? 'Lab' : 'bench'}-${String(i).padStart(4, '0')}`,
      serial: i % 13 === 0 ? null : `${['C6N', 'H6C', 'N8W'][i % 3]}-${(0xa1b2c3 + i * 7919).toString(16).toUpperCase()}-${String(i).padStart(5, '0')}`,
    });
    const row = h.store.record(a)!;
    seeded.push({ ...a, id: row.id });
  }
});
afterAll(() => {
  h.cleanup();
});

/** The filters' meaning, written out plainly. */
function oracle(q: HistoryQuery): number[] {
  const text = q.text?.trim().toLowerCase() ?? '';
  return seeded
    .filter(
      (a) =>
        (q.from === undefined || a.at >= Date.parse(q.from)) &&
        (q.to === undefined || a.at < Date.parse(q.to)) &&
        (q.pid === undefined || a.pid === q.pid) &&
        (q.result === undefined || a.result === q.result) &&
        (q.code === undefined || a.code === q.code) &&
        (q.operator === undefined || a.operator === q.operator) &&
        (q.method === undefined || a.method === q.method) &&
        (q.batchId === undefined || a.batchId === q.batchId) &&
        (text === '' || a.devId.toLowerCase().includes(text) || (a.serial ?? '').toLowerCase().includes(text)),
    )
    .sort((x, y) => y.at - x.at || y.id - x.id)
    .map((a) => a.id);
}

const ids = (q: HistoryQuery): number[] => allPages(h.store, OWNER, q).map((r) => r.id);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('history filters', () => {
  it('given no filter, then every row comes back newest first, in pages of 100 by default', () => {
    const first = h.store.query(OWNER, {});
    expect(first.items).toHaveLength(DEFAULT_PAGE_LIMIT);
    expect(first.nextCursor).not.toBeNull();
    expect(ids({})).toEqual(oracle({}));
  });

  const cases: Array<[string, HistoryQuery]> = [
    ['a time range (from inclusive, to exclusive)', { from: iso(T0 + 10 * HOUR), to: iso(T0 + 20 * HOUR) }],
    ['only from', { from: iso(T0 + 70 * HOUR) }],
    ['only to', { to: iso(T0 + 2 * HOUR) }],
    ['a time range given with an offset', { from: '2025-03-10T20:00:00+10:00', to: '2025-03-10T12:00:00-02:00' }],
    ['a product', { pid: 'cam-h6c' }],
    ['a result', { result: 'NOT_BOUND' }],
    ['a failure code', { code: 'NO_REPORT' }],
    ['an operator (exact)', { operator: 'Zoë Martín' }],
    ['a method', { method: 'serial' }],
    ['a batch', { batchId: 'b-3' }],
    ['text in a serial, any case', { text: 'c6n-a2' }],
    ['text in the middle of a serial', { text: 'B2' }],
    ['text in a device id, any case', { text: 'LAB-00' }],
    ['text of one character', { text: 'l' }],
    ['text of two characters', { text: '7f' }],
    ['text with surrounding spaces', { text: '  bench-01  ' }],
    ['text that looks like FTS syntax', { text: 'dev" OR "x' }],
    ['text that matches nothing', { text: 'zzzz' }],
    ['product and result', { pid: 'nvr-n8w', result: 'FAILED' }],
    ['code and time range', { code: 'WIFI_AUTH', from: iso(T0), to: iso(T0 + 40 * HOUR) }],
    ['operator, method and batch', { operator: 'Ana Ruiz', method: 'qr', batchId: 'b-0' }],
    ['text and product', { text: '-000', pid: 'cam-c6n' }],
    ['everything at once', { pid: 'cam-c6n', result: 'FAILED', code: 'WIFI_AUTH', operator: 'Ben Okafor', method: 'qr', from: iso(T0), to: iso(T0 + 80 * HOUR), text: 'bench' }],
  ];

  it.each(cases)('given %s, then exactly the matching rows come back, newest first, across pages', (_label, q) => {
    expect(ids({ ...q, limit: 7 })).toEqual(oracle(q));
  });

  it('checks that the cases above are not vacuous: all but the two no-match cases match some rows but not all', () => {
    const sizes = cases.map(([, q]) => oracle(q).length);
    expect(sizes.filter((n) => n > 0 && n < seeded.length).length).toBe(cases.length - 2);
  });

  it('given an operator name in another case, then it does not match: the filter is exact', () => {
    expect(h.store.query(OWNER, { operator: 'ana ruiz' }).items).toEqual([]);
  });

  it('given a query the contract does not allow, then HistoryInputError says what is wrong', () => {
    expect(() => h.store.query(OWNER, { limit: 0 })).toThrow(HistoryInputError);
    expect(() => h.store.query(OWNER, { limit: 501 })).toThrow(/limit/);
    expect(() => h.store.query(OWNER, { result: 'MAYBE' } as never)).toThrow(/result/);
    expect(() => h.store.query(OWNER, { sort: 'id' } as never)).toThrow(/Unrecognized key: "sort"/);
    expect(() => h.store.query(OWNER, { from: 'yesterday' })).toThrow(/from/);
  });

  it('given a scope that is not a scope, then it is refused', () => {
    expect(() => h.store.query({ accountId: 'acc-owner', allPids: ['a b'], ownPids: [] }, {})).toThrow(/history scope rejected: allPids\[0\]/);
    expect(() => h.store.query({ allPids: [], ownPids: [] } as never, {})).toThrow(/accountId/);
  });
});

describe('text search on a large log', () => {
  let big: TempHistory;
  let common: Array<NewAttempt & { id: number }>;

  beforeAll(() => {
    big = openTempHistory();
    common = [];
    // More rows share "DS-2CD" than the index path takes: this text is answered by a scan in page order.
    const rows = Array.from({ length: DENSE_TEXT_MATCHES + 500 }, (_, i) =>
      attempt({ at: T0 + i * 1000, serial: `DS-2CD${String(i).padStart(6, '0')}`, devId: `cam-${i}`, pid: 'cam-h6c' }),
    );
    rows.push(attempt({ at: T0 - 1000, serial: 'H6C-UNIQUE-00001', devId: 'cam-unique', pid: 'cam-h6c' }));
    big.store.recordMany(rows);
    common = rows.map((a, i) => ({ ...a, id: i + 1 }));
  });
  afterAll(() => {
    big.cleanup();
  });

  it('given text most rows contain, then the planner scans, and the answer is the same as the index would give', () => {
    // A second connection beside the open store: read-only, since the store is its one writer (DESIGN §9).
    const db = openHistoryReader(big.path);
    try {
      const plan = createTextPlanner(db);
      expect(plan('ds-2cd')).toBe('scan');
      expect(plan('unique')).toBe('index');
      expect(plan('zz')).toBe('scan');
    } finally {
      db.close();
    }
    const page = big.store.query(OWNER, { text: 'ds-2cd0100', limit: 500 });
    const expected = common.filter((a) => a.serial!.toLowerCase().includes('ds-2cd0100')).sort((x, y) => y.at - x.at).map((a) => a.id);
    expect(page.items.map((r) => r.id)).toEqual(expected);

    const dense = big.store.query(OWNER, { text: 'ds-2cd', limit: 500 });
    expect(dense.items.map((r) => r.serial)).toEqual(
      common.filter((a) => a.serial!.startsWith('DS-2CD')).sort((x, y) => y.at - x.at).slice(0, 500).map((a) => a.serial),
    );
  });

  it('given a rare serial fragment, then the trigram index finds it among ten thousand rows', () => {
    expect(big.store.query(OWNER, { text: 'unique' }).items.map((r) => r.devId)).toEqual(['cam-unique']);
    expect(big.store.stats(OWNER, { text: 'unique' }).total).toBe(1);
    expect(big.store.stats(OWNER, { text: 'DS-2CD' }).total).toBe(DENSE_TEXT_MATCHES + 500);
  });
});
