import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryInputError, type NewAttempt } from '../../src/history/index.js';
import { allPages, attempt, OWNER, openTempHistory, type TempHistory } from './history-fixtures.js';

let h: TempHistory;
beforeEach(() => {
  h = openTempHistory();
});
afterEach(() => {
  h.cleanup();
});

/** Counted straight from the file, not through the store under test. */
function rowsInFile(): number {
  const db = new BetterSqlite3(h.path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('recording attempts', () => {
  it('given an attempt, when recorded, then it comes back as a HistoryRow and is still there after a restart', () => {
    const a = attempt({ at: Date.UTC(2025, 2, 10, 9, 30), serial: 'C6N-7F3A21-00042', devId: 'dev-7f3a21', tokenId: 'AbCd1234', seq: 17 });
    const row = h.store.record(a);
    expect(row).toEqual({
      id: expect.any(Number),
      at: '2025-03-10T09:30:00.000Z',
      stationId: 'bench-1-station',
      operator: 'Ana Ruiz',
      accountId: 'acc-owner',
      method: 'qr',
      batchId: 'b-20250310-aaaaaa',
      pid: 'cam-c6n',
      devId: 'dev-7f3a21',
      serial: 'C6N-7F3A21-00042',
      result: 'UNBOUND',
      code: null,
      tokenId: 'AbCd1234',
    });
    h.reopen();
    expect(h.store.query(OWNER, {}).items).toEqual([row]);
  });

  it('given several attempts recorded together, then each answers as record would (its row, null for a repeated token and seq), and one malformed attempt writes none of them', () => {
    const first = h.store.record(attempt({ devId: 'dev-0001', tokenId: 'AbCd1234', seq: 1 }));
    const rows = h.store.recordEach([
      attempt({ devId: 'dev-0001', tokenId: 'AbCd1234', seq: 1 }),
      attempt({ devId: 'dev-0002', tokenId: 'AbCd1234', seq: 2 }),
      attempt({ devId: 'dev-0003', tokenId: 'AbCd1234', seq: 3 }),
    ]);
    expect(rows).toEqual([null, expect.objectContaining({ devId: 'dev-0002' }), expect.objectContaining({ devId: 'dev-0003' })]);
    h.reopen();
    expect(h.store.query(OWNER, {}).items.map((r) => r.id).sort()).toEqual([first!.id, rows[1]!.id, rows[2]!.id].sort());
    expect(() => h.store.recordEach([attempt({ devId: 'dev-0004', seq: 4 }), { ...attempt({ seq: 5 }), result: 'SOLD' } as unknown as NewAttempt])).toThrow(HistoryInputError);
    expect(rowsInFile()).toBe(3);
  });

  it('given optional fields left out, then they are stored as null', () => {
    const row = h.store.record({ at: 1, stationId: 's1', operator: 'Ben', accountId: 'acc-owner', method: 'wired', devId: 'dev-0001', result: 'NOT_BOUND' });
    expect(row).toMatchObject({ batchId: null, pid: null, serial: null, code: null, tokenId: null });
  });

  it('given an UNBOUND device outside the manifest, then the result is kept and SERIAL_MISMATCH is stored as its flag', () => {
    const row = h.store.record(attempt({ result: 'UNBOUND', code: 'SERIAL_MISMATCH' }));
    expect(row).toMatchObject({ result: 'UNBOUND', code: 'SERIAL_MISMATCH' });
  });

  it('given a batch recorded out of order, then batchAttempts returns its attempts oldest first, and only that batch', () => {
    h.store.recordMany([
      attempt({ batchId: 'b-1', at: 3000, devId: 'dev-third' }),
      attempt({ batchId: 'b-1', at: 1000, devId: 'dev-first' }),
      attempt({ batchId: 'b-2', at: 2000, devId: 'dev-other-batch' }),
      attempt({ batchId: 'b-1', at: 2000, devId: 'dev-second', accountId: 'acc-partner-a' }),
      attempt({ batchId: null, at: 2500, devId: 'dev-no-batch' }),
    ]);
    expect(h.store.batchAttempts('b-1').map((r) => r.devId)).toEqual(['dev-first', 'dev-second', 'dev-third']);
    expect(() => h.store.batchAttempts('')).toThrow(TypeError);
  });

  describe('restart reconciliation: the same authority result recorded twice is stored once', () => {
    it('given a (tokenId, seq) already stored, when recorded again, then record returns null and nothing is added', () => {
      const a = attempt({ tokenId: 'TokRecon', seq: 41 });
      expect(h.store.record(a)).not.toBeNull();
      expect(h.store.record(a)).toBeNull();
      // Even if the replay differs in details (time re-read, operator changed on the bench), it is the same result.
      expect(h.store.record({ ...a, at: a.at + 5000, operator: 'Ben Okafor' })).toBeNull();
      expect(rowsInFile()).toBe(1);
    });

    it('given the same seq on another token, or the same token with another seq, then both are new results', () => {
      h.store.record(attempt({ tokenId: 'TokA0001', seq: 1 }));
      expect(h.store.record(attempt({ tokenId: 'TokB0001', seq: 1 }))).not.toBeNull();
      expect(h.store.record(attempt({ tokenId: 'TokA0001', seq: 2 }))).not.toBeNull();
      expect(rowsInFile()).toBe(3);
    });

    it('given attempts without a token or a seq (NO_REPORT closes), then each is stored: there is nothing to dedupe on', () => {
      const noReport = (): NewAttempt => attempt({ result: 'FAILED', code: 'NO_REPORT', tokenId: null, seq: null });
      h.store.record(noReport());
      h.store.record(noReport());
      h.store.record(attempt({ tokenId: 'TokA0001', seq: null }));
      h.store.record(attempt({ tokenId: 'TokA0001', seq: null }));
      expect(rowsInFile()).toBe(4);
    });

    it('given a replayed stream, when recordMany gets it, then it counts only the new results, duplicates inside the list included', () => {
      const first = [attempt({ tokenId: 'TokS0001', seq: 1 }), attempt({ tokenId: 'TokS0001', seq: 2 })];
      expect(h.store.recordMany(first)).toBe(2);
      const replay = [...first, attempt({ tokenId: 'TokS0001', seq: 3 }), attempt({ tokenId: 'TokS0001', seq: 3 })];
      expect(h.store.recordMany(replay)).toBe(1);
      expect(rowsInFile()).toBe(3);
      expect(allPages(h.store, OWNER).map((r) => r.tokenId)).toEqual(['TokS0001', 'TokS0001', 'TokS0001']);
    });
  });

  describe('malformed input never reaches the file', () => {
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a result outside the enum', { result: 'MAYBE' }, /result: Invalid option/],
      ['a failure without its code', { result: 'FAILED', code: null }, /code: a FAILED attempt needs a failure code/],
      ['an unknown failure code', { result: 'FAILED', code: 'GREMLINS' }, /code: Invalid option/],
      ['an unknown method', { method: 'bluetooth' }, /method: Invalid option/],
      ['a time that is not whole milliseconds', { at: 1.5 }, /at: /],
      ['a negative time', { at: -1 }, /at: /],
      ['a time as text', { at: '2025-03-10' }, /at: /],
      ['no device id', { devId: undefined }, /devId: /],
      ['a device id with spaces', { devId: 'dev 1' }, /devId: devId must be 1–128 label characters/],
      ['an empty operator', { operator: '   ' }, /operator: /],
      ['an operator with a control character', { operator: 'Ana\u0000Ruiz' }, /operator: must not contain control characters/],
      ['a serial with a quote', { serial: 'C6N"1234' }, /serial: serial must be 4–64 label characters/],
      ['a bad pid', { pid: 'a b' }, /pid: /],
      ['a whole token where the token id goes', { tokenId: 'EUAbCd1234s3cr3t' }, /tokenId: tokenId must be the 8-character token id, not the token/],
      ['a fractional seq', { seq: 2.5 }, /seq: /],
      ['an unknown key (a Wi-Fi password)', { wifiPassword: 'hunter22' }, /Unrecognized key: "wifiPassword"/],
    ];

    it.each(bad)('given %s, when recorded, then HistoryInputError says which field and nothing is written', (_label, over, message) => {
      const a = { ...attempt(), ...over } as NewAttempt;
      let error: unknown;
      try {
        h.store.record(a);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(HistoryInputError);
      expect((error as HistoryInputError).code).toBe('INVALID_ATTEMPT');
      expect((error as Error).message).toMatch(/^attempt rejected: /);
      expect((error as Error).message).toMatch(message);
      expect(rowsInFile()).toBe(0);
    });

    it('given one bad row among many, when recordMany runs, then the error names the row and none of the batch is written', () => {
      h.store.record(attempt());
      const list = [attempt(), attempt(), { ...attempt(), result: 'FAILED' } as NewAttempt, attempt()];
      expect(() => h.store.recordMany(list)).toThrow(/^attempts\[2\] rejected: code: a FAILED attempt needs a failure code$/);
      expect(rowsInFile()).toBe(1);
    });

    it('given something that is not a list, when recordMany runs, then it is refused', () => {
      expect(() => h.store.recordMany('rows' as unknown as NewAttempt[])).toThrow(HistoryInputError);
      expect(rowsInFile()).toBe(0);
    });

    it('given a closed store, then it says so instead of failing somewhere in SQLite', () => {
      h.store.close();
      expect(() => h.store.record(attempt())).toThrow('history store is closed');
    });
  });
});
