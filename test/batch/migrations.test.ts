import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openBatchStore } from '../../src/batch/batch-records.js';
import { batchMigrations, batchSchema } from '../../src/batch/migrations/index.js';
import { createSecretBox, latestVersion, loadOrCreateMasterKey, migrateTo } from '../../src/sqlite/index.js';

/** Signal Desktop's discipline for the station's batch store: each migration N migrates a real file to N-1, seeds, migrates to N, checks. */

let dir: string;
let BATCH_MIGRATIONS: ReturnType<typeof batchMigrations>;
let BATCH_SCHEMA: ReturnType<typeof batchSchema>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'batch-migrations-'));
  // The station key the store would create beside batches.db: the migrations seal under it.
  const box = createSecretBox(loadOrCreateMasterKey(join(dir, 'station.key')));
  BATCH_MIGRATIONS = batchMigrations(box);
  BATCH_SCHEMA = batchSchema(box);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const names = (db: BetterSqlite3.Database, type: 'table' | 'index'): string[] =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`).all(type) as Array<{ name: string }>).map((r) => r.name);
const columnsOf = (db: BetterSqlite3.Database, table: string): string[] =>
  (db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(table) as Array<{ name: string }>).map((r) => r.name);

/**
 * A `batches.db` exactly as the station wrote it before the migration left the store's code: WAL,
 * foreign keys, the inline migration 1's schema (copied here verbatim) and `user_version = 1`.
 */
function writeBatchesDbOfBefore(path: string): void {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.transaction(() => {
    db.exec(`
        CREATE TABLE batches (
          id          TEXT PRIMARY KEY,
          created_at  INTEGER NOT NULL,
          method      TEXT NOT NULL CHECK (method IN ('qr', 'wired', 'serial')),
          pid         TEXT NOT NULL,
          account_id  TEXT NOT NULL,
          operator    TEXT NOT NULL,
          status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'cancelled')),
          ssid        TEXT,
          expected    INTEGER NOT NULL,
          manifest    TEXT,
          ended_at    INTEGER
        );
        CREATE INDEX batches_status ON batches(status, account_id);
        CREATE TABLE batch_codes (
          batch_id    TEXT NOT NULL REFERENCES batches(id),
          idx         INTEGER NOT NULL,
          token_id    TEXT NOT NULL UNIQUE,
          token       TEXT NOT NULL,
          capacity    INTEGER NOT NULL,
          expires_at  INTEGER NOT NULL,
          ended       TEXT,
          PRIMARY KEY (batch_id, idx)
        );
        CREATE TABLE batch_labels (
          batch_id  TEXT NOT NULL REFERENCES batches(id),
          seq       INTEGER NOT NULL,
          label     TEXT NOT NULL,
          at        INTEGER NOT NULL,
          PRIMARY KEY (batch_id, seq)
        );
      `);
    db.pragma('user_version = 1');
  }).immediate();
  const at = Date.parse('2026-11-20T09:00:00Z');
  db.prepare(
    `INSERT INTO batches (id, created_at, method, pid, account_id, operator, status, ssid, expected, manifest, ended_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run('b-running', at, 'serial', 'pser1cam', 'acc-owner', 'Ana', 'running', null, 2, JSON.stringify(['SN-0001', 'SN-0002']), null);
  db.prepare(
    `INSERT INTO batches (id, created_at, method, pid, account_id, operator, status, ssid, expected, manifest, ended_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run('b-done', at - 3_600_000, 'qr', 'pqr1cam', 'acc-owner', 'Ana', 'completed', 'lab-wifi', 30, null, at - 3_000_000);
  db.prepare('INSERT INTO batch_codes (batch_id, idx, token_id, token, capacity, expires_at, ended) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'b-running', 0, 'tokRun01', 'EUtokRun01secret', 2, at + 600_000, null,
  );
  db.prepare('INSERT INTO batch_codes (batch_id, idx, token_id, token, capacity, expires_at, ended) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'b-done', 0, 'tokDone1', 'EUtokDone1secret', 30, at - 3_000_000, 'exhausted',
  );
  db.prepare('INSERT INTO batch_labels (batch_id, seq, label, at) VALUES (?, ?, ?, ?)').run('b-running', 1, 'SN-0001', at + 1000);
  db.prepare('INSERT INTO batch_labels (batch_id, seq, label, at) VALUES (?, ?, ?, ?)').run('b-running', 2, 'SN-0002', at + 2000);
  db.close();
}

describe('batch store migrations', () => {
  it('lists migrations numbered 1..N without gaps, the latest being what the store opens to', () => {
    expect(BATCH_MIGRATIONS.map((m) => m.version)).toEqual(BATCH_MIGRATIONS.map((_, i) => i + 1));
    expect(latestVersion(BATCH_SCHEMA)).toBe(4);
  });

  describe('0001 batches: empty file → 1', () => {
    it('creates batches, their codes and labels, and keeps no Wi-Fi password', () => {
      const db = new BetterSqlite3(join(dir, 'batches.db'));
      try {
        migrateTo(db, BATCH_SCHEMA, 0);
        expect(names(db, 'table')).toEqual([]);
        migrateTo(db, BATCH_SCHEMA, 1);
        expect(db.pragma('user_version', { simple: true })).toBe(1);
        expect(names(db, 'table')).toEqual(['batch_codes', 'batch_labels', 'batches']);
        expect(names(db, 'index')).toEqual(['batches_status']);
        expect(columnsOf(db, 'batches')).toEqual(['id', 'created_at', 'method', 'pid', 'account_id', 'operator', 'status', 'ssid', 'expected', 'manifest', 'ended_at']);
        expect(columnsOf(db, 'batch_codes')).toEqual(['batch_id', 'idx', 'token_id', 'token', 'capacity', 'expires_at', 'ended']);
        expect(columnsOf(db, 'batch_labels')).toEqual(['batch_id', 'seq', 'label', 'at']);
        const everyColumn = ['batches', 'batch_codes', 'batch_labels'].flatMap((t) => columnsOf(db, t));
        expect(everyColumn.filter((c) => /pass|psk|secret|key/i.test(c))).toEqual([]);
      } finally {
        db.close();
      }
    });

    it('refuses rows no batch can be: an unknown method or status, a code of no batch, one token twice', () => {
      const db = new BetterSqlite3(join(dir, 'batches.db'));
      try {
        db.pragma('foreign_keys = ON');
        migrateTo(db, BATCH_SCHEMA, 1);
        const batch = db.prepare(
          "INSERT INTO batches (id, created_at, method, pid, account_id, operator, status, expected) VALUES (?, 1, ?, 'p', 'acc', 'Ana', ?, 1)",
        );
        const code = db.prepare("INSERT INTO batch_codes (batch_id, idx, token_id, token, capacity, expires_at) VALUES (?, ?, ?, 'EUtok', 1, 1)");
        batch.run('b-1', 'qr', 'running');
        expect(() => batch.run('b-2', 'bluetooth', 'running')).toThrow(/CHECK constraint failed/);
        expect(() => batch.run('b-3', 'wired', 'paused')).toThrow(/CHECK constraint failed/);
        code.run('b-1', 0, 'tok00001');
        expect(() => code.run('b-nobody', 0, 'tok00002')).toThrow(/FOREIGN KEY/);
        expect(() => code.run('b-1', 1, 'tok00001')).toThrow(/UNIQUE constraint failed/);
        expect(db.prepare('SELECT count(*) AS n FROM batch_codes').get()).toEqual({ n: 1 });
      } finally {
        db.close();
      }
    });
  });

  describe('0002 sealed tokens and Wi-Fi verifier: 1 → 2', () => {
    it('seals every clear token under the station key, leaves no clear token in any file, and adds the verifier column', () => {
      const path = join(dir, 'batches.db');
      writeBatchesDbOfBefore(path);
      const store = openBatchStore(path, { keyFile: join(dir, 'station.key') });
      try {
        // The store still hands out the clear tokens it needs to draw codes.
        expect(store.codes('b-running').map((c) => c.token)).toEqual(['EUtokRun01secret']);
        expect(store.codes('b-done').map((c) => c.token)).toEqual(['EUtokDone1secret']);
        expect(store.wifiVerifier('b-done')).toBeNull();
        // What is at rest: sealed values only, in the table and in every byte of every file beside it.
        const raw = new BetterSqlite3(path, { readonly: true });
        try {
          const tokens = (raw.prepare('SELECT token FROM batch_codes ORDER BY batch_id').all() as Array<{ token: string }>).map((r) => r.token);
          expect(tokens).toHaveLength(2);
          for (const t of tokens) expect(t).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
          expect(columnsOf(raw, 'batches')).toContain('wifi_verifier');
        } finally {
          raw.close();
        }
        for (const f of readdirSync(dir)) {
          const bytes = readFileSync(join(dir, f));
          expect(bytes.includes('EUtokRun01secret'), f).toBe(false);
          expect(bytes.includes('EUtokDone1secret'), f).toBe(false);
        }
      } finally {
        store.close();
      }
    });

    it('a store opened with another key cannot read the tokens (they are sealed, not encoded): it refuses to open', () => {
      const path = join(dir, 'batches.db');
      writeBatchesDbOfBefore(path);
      openBatchStore(path, { keyFile: join(dir, 'station.key') }).close();
      expect(() => openBatchStore(path, { keyFile: join(dir, 'other.key') })).toThrow(/sealed under another station key/);
      const again = openBatchStore(path, { keyFile: join(dir, 'station.key') });
      try {
        expect(again.codes('b-running').length).toBeGreaterThan(0);
      } finally {
        again.close();
      }
    });
  });

  describe('0003 batch stop rule: 2 → 3', () => {
    it('adds the stop column, empty for the batches already there; a stop written survives a reopen', () => {
      const path = join(dir, 'batches.db');
      const db = new BetterSqlite3(path);
      migrateTo(db, BATCH_SCHEMA, 2);
      db.prepare("INSERT INTO batches (id, created_at, method, pid, account_id, operator, status, ssid, expected) VALUES ('b-old', 1, 'wired', 'pnvr8ch', 'acc-owner', 'Ana', 'running', NULL, 3)").run();
      migrateTo(db, BATCH_SCHEMA, 3);
      expect(columnsOf(db, 'batches')).toContain('stop');
      expect(db.prepare("SELECT stop FROM batches WHERE id = 'b-old'").get()).toEqual({ stop: null });
      db.close();
      const store = openBatchStore(path);
      try {
        expect(store.get('b-old')!.stop).toBeNull();
        const stop = { code: 'CLOUD_UNREACHABLE' as const, count: 5, threshold: 5, window: 10, at: '2026-12-02T01:00:00.000Z', resumedAt: null };
        store.setStop('b-old', stop);
        store.close();
        const again = openBatchStore(path);
        expect(again.get('b-old')).toMatchObject({ status: 'running', stop });
        again.close();
      } catch (err) {
        store.close();
        throw err;
      }
    });
  });

  describe('a batches.db written before the store moved to numbered migrations', () => {
    it('opens with every batch, code and label it held, and the restart follows its running batch', () => {
      const path = join(dir, 'batches.db');
      writeBatchesDbOfBefore(path);

      const store = openBatchStore(path);
      try {
        expect(store.list().map((b) => b.id)).toEqual(['b-running', 'b-done']);
        expect(store.get('b-running')).toEqual({
          id: 'b-running', createdAt: Date.parse('2026-11-20T09:00:00Z'), method: 'serial', pid: 'pser1cam', accountId: 'acc-owner', operator: 'Ana',
          status: 'running', ssid: null, expected: 2, manifest: ['SN-0001', 'SN-0002'], endedAt: null, stop: null,
        });
        expect(store.get('b-done')).toMatchObject({ status: 'completed', ssid: 'lab-wifi', expected: 30, manifest: null });
        expect(store.codes('b-running')).toEqual([
          { batchId: 'b-running', index: 0, tokenId: 'tokRun01', token: 'EUtokRun01secret', capacity: 2, expiresAt: Date.parse('2026-11-20T09:10:00Z'), ended: null },
        ]);
        expect(store.codes('b-done').map((c) => c.ended)).toEqual(['exhausted']);
        expect(store.labels('b-running')).toEqual(['SN-0001', 'SN-0002']);
        expect(store.running('acc-owner').map((b) => b.id)).toEqual(['b-running']);

        // And it keeps writing where it left off.
        store.addLabel('b-running', 'SN-0003', Date.now());
        expect(store.labels('b-running')).toEqual(['SN-0001', 'SN-0002', 'SN-0003']);
      } finally {
        store.close();
      }
      const check = new BetterSqlite3(path, { readonly: true });
      try {
        expect(check.pragma('user_version', { simple: true })).toBe(4);
      } finally {
        check.close();
      }
    });

    it('refuses a batches.db written by a newer program and leaves it untouched', () => {
      const path = join(dir, 'batches.db');
      const future = new BetterSqlite3(path);
      future.pragma('user_version = 5');
      future.close();
      expect(() => openBatchStore(path)).toThrow('batch store version 5 is newer than this program knows (4); upgrade the program');
      const check = new BetterSqlite3(path, { readonly: true });
      try {
        expect(check.pragma('user_version', { simple: true })).toBe(5);
        expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
      } finally {
        check.close();
      }
    });
  });
});
