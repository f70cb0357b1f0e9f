import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestHistoryVersion, openHistoryDb } from '../../src/history/operation-log-database.js';
import { HISTORY_SCHEMA, MIGRATIONS, type Migration } from '../../src/history/migrations/index.js';
import { migrateTo } from '../../src/sqlite/index.js';
import { openHistoryStore } from '../../src/history/index.js';
import { OWNER } from './history-fixtures.js';

/**
 * Signal Desktop's discipline: each migration N has its own test that migrates a real file to N-1,
 * seeds rows as they looked then, migrates to N and checks both the new schema and the old rows.
 */

let dir: string;
let db: BetterSqlite3.Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'history-migrations-'));
  db = new BetterSqlite3(join(dir, 'history.db'));
});
afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = (type: 'table' | 'index'): string[] =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`).all(type) as Array<{ name: string }>).map((r) => r.name);
const columnsOf = (table: string): string[] => (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).all(table) as Array<{ name: string }>).map((r) => r.name);
const planOf = (sql: string, ...params: unknown[]): string =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');

/** A row as migration 0001 stores it, written with plain SQL (the store's code of the day may differ). */
function seedAttempt(id: number, over: Record<string, unknown> = {}): void {
  const row = {
    id,
    at: Date.UTC(2025, 0, 2, 10) + id * 60_000,
    station_id: 'bench-1-station',
    operator: 'Ana Ruiz',
    account_id: 'acc-owner',
    method: 'qr',
    batch_id: 'b-1',
    pid: 'cam-c6n',
    dev_id: `dev-old-${id}`,
    serial: `C6N-OLD${id}-00001`,
    result: 'UNBOUND',
    code: null,
    token_id: 'TokOld01',
    seq: id,
    ...over,
  };
  db.prepare(
    `INSERT INTO attempts (id, at, station_id, operator, account_id, method, batch_id, pid, dev_id, serial, result, code, token_id, seq)
     VALUES (@id, @at, @station_id, @operator, @account_id, @method, @batch_id, @pid, @dev_id, @serial, @result, @code, @token_id, @seq)`,
  ).run(row);
}

describe('history migrations', () => {
  it('lists migrations numbered 1..N without gaps, the latest being what the store opens to', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(latestHistoryVersion()).toBe(4);
  });

  describe('0001 attempts: empty file → 1', () => {
    it('creates the attempts table with exactly the columns of an attempt, and no place for a password or token secret', () => {
      migrateTo(db, HISTORY_SCHEMA, 1);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      expect(names('table')).toEqual(['attempts']);
      expect(columnsOf('attempts')).toEqual([
        'id', 'at', 'station_id', 'operator', 'account_id', 'method', 'batch_id', 'pid', 'dev_id', 'serial', 'result', 'code', 'token_id', 'seq',
      ]);
      expect(columnsOf('attempts').filter((c) => /pass|psk|wifi|ssid|secret|key/i.test(c))).toEqual([]);
    });

    it('refuses rows no attempt can be: wrong types (STRICT), an unknown result, a failure without a code', () => {
      migrateTo(db, HISTORY_SCHEMA, 1);
      seedAttempt(1);
      expect(() => seedAttempt(2, { at: 'yesterday' })).toThrow(/cannot store TEXT value in INTEGER column/);
      expect(() => seedAttempt(3, { result: 'MAYBE' })).toThrow(/CHECK constraint failed/);
      expect(() => seedAttempt(4, { result: 'FAILED', code: null })).toThrow(/CHECK constraint failed/);
      expect(() => seedAttempt(5, { dev_id: null })).toThrow(/NOT NULL/);
      seedAttempt(6, { result: 'FAILED', code: 'WIFI_AUTH', seq: 6 });
      expect(db.prepare('SELECT count(*) AS n FROM attempts').get()).toEqual({ n: 2 });
    });

    it('stores one (token_id, seq) once, and never dedupes rows that lack either', () => {
      migrateTo(db, HISTORY_SCHEMA, 1);
      seedAttempt(1, { token_id: 'TokA0001', seq: 7 });
      expect(() => seedAttempt(2, { token_id: 'TokA0001', seq: 7 })).toThrow(/UNIQUE constraint failed/);
      seedAttempt(3, { token_id: null, seq: null });
      seedAttempt(4, { token_id: null, seq: null });
      seedAttempt(5, { token_id: 'TokA0001', seq: null });
      seedAttempt(6, { token_id: 'TokA0001', seq: null });
      expect(db.prepare('SELECT count(*) AS n FROM attempts').get()).toEqual({ n: 5 });
    });
  });

  describe('0002 filter indexes: 1 → 2', () => {
    it('keeps the rows of version 1 and adds an index per filter that the planner uses in page order', () => {
      migrateTo(db, HISTORY_SCHEMA, 1);
      for (let i = 1; i <= 50; i++) seedAttempt(i, i % 5 === 0 ? { result: 'FAILED', code: 'NO_REPORT', token_id: null, seq: null } : {});
      const before = db.prepare('SELECT * FROM attempts ORDER BY id').all();

      migrateTo(db, HISTORY_SCHEMA, 2);

      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(db.prepare('SELECT * FROM attempts ORDER BY id').all()).toEqual(before);
      expect(names('index')).toEqual([
        'attempts_account_time', 'attempts_batch_time', 'attempts_code_time', 'attempts_operator_time', 'attempts_pid_time', 'attempts_time', 'attempts_token_seq',
      ]);
      const page = 'ORDER BY at DESC, id DESC LIMIT 101';
      expect(planOf(`SELECT * FROM attempts WHERE code = ? ${page}`, 'NO_REPORT')).toMatch(/USING INDEX attempts_code_time \(code=\?\)$/);
      expect(planOf(`SELECT * FROM attempts WHERE operator = ? AND at >= ? AND at < ? ${page}`, 'Ana Ruiz', 0, 1)).toMatch(/USING INDEX attempts_operator_time \(operator=\? AND at>\? AND at<\?\)$/);
      expect(planOf(`SELECT * FROM attempts WHERE pid = ? AND (at, id) < (?, ?) ${page}`, 'cam-c6n', 1, 1)).toMatch(/USING INDEX attempts_pid_time \(pid=\? AND at<\?\)$/);
      // The owner's view: its scope is a residual check read from the time index, never a sort of every row.
      expect(planOf(`SELECT * FROM attempts WHERE (+pid IN (?, ?) OR (+account_id = ? AND +pid IS NULL)) ${page}`, 'a', 'b', 'c')).toBe('SCAN attempts USING INDEX attempts_time');
      expect(planOf(`SELECT * FROM attempts WHERE account_id = ? AND (+pid IN (?) OR +pid IS NULL) ${page}`, 'acc', 'p')).toMatch(/USING INDEX attempts_account_time \(account_id=\?\)$/);
    });
  });

  describe('0003 device text search: 2 → 3', () => {
    it('indexes the device ids and serials of rows written before it, so old attempts are found by any part of their label', () => {
      migrateTo(db, HISTORY_SCHEMA, 2);
      seedAttempt(1, { dev_id: 'dev-legacy-01', serial: 'H6C-7F3A21-00042' });
      seedAttempt(2, { dev_id: 'dev-legacy-02', serial: null });
      seedAttempt(3, { dev_id: 'dev-legacy-03', serial: 'N8W-000000-00001' });

      migrateTo(db, HISTORY_SCHEMA, 3);
      expect(db.pragma('user_version', { simple: true })).toBe(3);
      const match = (text: string): number[] =>
        (db.prepare('SELECT rowid FROM attempts_text WHERE attempts_text MATCH ? ORDER BY rowid').all(`"${text}"`) as Array<{ rowid: number }>).map((r) => r.rowid);
      expect(match('7f3a21')).toEqual([1]);
      expect(match('legacy-0')).toEqual([1, 2, 3]);
      expect(match('gacy-02')).toEqual([2]);
      db.close();

      // And through the store, which writes new rows to the same index.
      const store = openHistoryStore(join(dir, 'history.db'));
      try {
        expect(store.query(OWNER, { text: '3a21' }).items.map((r) => r.devId)).toEqual(['dev-legacy-01']);
        expect(store.query(OWNER, { text: 'LEGACY-02' }).items.map((r) => r.devId)).toEqual(['dev-legacy-02']);
      } finally {
        store.close();
      }
    });
  });

  describe('0004 day summary: 3 → 4', () => {
    it('counts the rows written before it on their days in the zone the store opens with, and counts new rows in their own transaction', () => {
      migrateTo(db, HISTORY_SCHEMA, 3);
      // 23:30 UTC on 2 January is already 3 January in Berlin.
      seedAttempt(1, { at: Date.UTC(2025, 0, 2, 10) });
      seedAttempt(2, { at: Date.UTC(2025, 0, 2, 23, 30), result: 'FAILED', code: 'WIFI_AUTH' });
      seedAttempt(3, { at: Date.UTC(2025, 0, 3, 9), pid: null, result: 'FAILED', code: 'DEVICE_UNKNOWN' });
      migrateTo(db, HISTORY_SCHEMA, 4);
      expect(db.pragma('user_version', { simple: true })).toBe(4);
      expect(columnsOf('attempt_days')).toEqual(['day', 'pid', 'account_id', 'result', 'code', 'n']);
      // The migration makes the table; the counts are made by the store that knows the zone.
      expect(db.prepare('SELECT count(*) AS n FROM attempt_days').get()).toEqual({ n: 0 });
      db.close();

      const store = openHistoryStore(join(dir, 'history.db'), { timeZone: 'Europe/Berlin' });
      try {
        expect(store.stats(OWNER, {}).byDay).toEqual([
          { day: '2025-01-02', unbound: 1, notBound: 0, failed: 0 },
          { day: '2025-01-03', unbound: 0, notBound: 0, failed: 2 },
        ]);
      } finally {
        store.close();
      }
      const check = new BetterSqlite3(join(dir, 'history.db'), { readonly: true });
      try {
        expect(check.prepare('SELECT day, pid, account_id, result, code, n FROM attempt_days ORDER BY day, code').all()).toEqual([
          { day: '2025-01-02', pid: 'cam-c6n', account_id: 'acc-owner', result: 'UNBOUND', code: null, n: 1 },
          { day: '2025-01-03', pid: null, account_id: 'acc-owner', result: 'FAILED', code: 'DEVICE_UNKNOWN', n: 1 },
          { day: '2025-01-03', pid: 'cam-c6n', account_id: 'acc-owner', result: 'FAILED', code: 'WIFI_AUTH', n: 1 },
        ]);
        expect(check.prepare("SELECT value FROM history_meta WHERE name = 'summary_zone'").get()).toEqual({ value: 'Europe/Berlin' });
      } finally {
        check.close();
      }
    });
  });

  describe('opening a store', () => {
    it('opens an empty file to the latest version in WAL mode, and reopening changes nothing', () => {
      db.close();
      const path = join(dir, 'history.db');
      const first = openHistoryDb(path);
      expect(first.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(first.pragma('user_version', { simple: true })).toBe(latestHistoryVersion());
      const schema = first.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
      first.close();
      const again = openHistoryDb(path);
      try {
        expect(again.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all()).toEqual(schema);
      } finally {
        again.close();
      }
    });

    it('refuses a file written by a newer program and leaves it untouched', () => {
      db.pragma('user_version = 42');
      db.exec('CREATE TABLE from_the_future (x)');
      db.close();
      const path = join(dir, 'history.db');
      expect(() => openHistoryStore(path)).toThrow('history schema version 42 is newer than this program knows (4); upgrade the program');
      const check = new BetterSqlite3(path, { readonly: true });
      try {
        expect(check.pragma('user_version', { simple: true })).toBe(42);
        expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
      } finally {
        check.close();
      }
    });

    it('rolls a failing migration back whole: schema and version stay where they were', () => {
      migrateTo(db, HISTORY_SCHEMA, 4);
      const broken: Migration[] = [
        ...MIGRATIONS,
        {
          version: 5,
          name: 'broken',
          up(d) {
            d.exec('CREATE TABLE half_done (x)');
            throw new Error('migration 5 failed');
          },
        },
      ];
      expect(() => migrateTo(db, { ...HISTORY_SCHEMA, migrations: broken }, 5)).toThrow('migration 5 failed');
      expect(db.pragma('user_version', { simple: true })).toBe(4);
      expect(names('table')).not.toContain('half_done');
    });
  });
});
