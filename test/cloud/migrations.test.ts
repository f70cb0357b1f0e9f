import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { AUTHORITY_SCHEMA, MIGRATIONS, type Migration } from '../../src/cloud/migrations/index.js';
import { latestVersion, migrateTo } from '../../src/sqlite/index.js';

// Every table of migration 0001, listed by hand from the design's domain (§2 cloud, §8 quota).
const TABLES_0001 = [
  'accounts', 'api_nonces', 'bindings', 'consumers', 'device_logs', 'device_nonces', 'devices', 'meta',
  'partner_grants', 'products', 'quota_tickets', 'quota_usage', 'role_products', 'roles', 'shares',
  'space_members', 'spaces', 'token_uses', 'tokens',
];
const TABLES_0003 = ['decided_answers', 'token_issue_keys'];
const TABLES_0004 = ['cases'];
// The newest migration: tests of the runner add theirs after it.
const LATEST = latestVersion(AUTHORITY_SCHEMA);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authority-migrations-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tablesOf(db: BetterSqlite3.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map(
    (r) => r.name,
  );
}
function schemaOf(db: BetterSqlite3.Database): string[] {
  return (db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all() as Array<{ type: string; name: string; sql: string | null }>).map(
    (r) => `${r.type} ${r.name} ${r.sql ?? ''}`,
  );
}

describe('authority migrations', () => {
  it('given an empty file, when the authority opens it, then migration 0001 creates every table and sets user_version 1', () => {
    const db = openAuthorityDb(join(dir, 'first.db'), 1);
    try {
      expect(tablesOf(db)).toEqual(TABLES_0001);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });

  it('given an empty file, when the authority opens it, then every migration runs in order up to the latest', () => {
    const path = join(dir, 'authority.db');
    const db = openAuthorityDb(path);
    try {
      expect(tablesOf(db)).toEqual([...TABLES_0001, ...TABLES_0003, ...TABLES_0004].sort());
      expect(MIGRATIONS.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(db.pragma('user_version', { simple: true })).toBe(latestVersion(AUTHORITY_SCHEMA));
    } finally {
      db.close();
    }
    expect(existsSync(path)).toBe(true);
  });

  it('given a migrated file, when it is opened again, then nothing changes (no-op) and the data is kept', () => {
    const path = join(dir, 'authority.db');
    const first = openAuthorityDb(path);
    first.prepare("INSERT INTO meta (key, value) VALUES ('install', 'bench-7')").run();
    const before = schemaOf(first);
    first.close();

    const again = openAuthorityDb(path);
    try {
      expect(schemaOf(again)).toEqual(before);
      expect(again.pragma('user_version', { simple: true })).toBe(LATEST);
      expect(again.prepare("SELECT value FROM meta WHERE key = 'install'").get()).toEqual({ value: 'bench-7' });
    } finally {
      again.close();
    }
  });

  it('given a database written by a newer program (user_version 99), when opened, then it is refused with a clear error and left untouched', () => {
    const path = join(dir, 'future.db');
    const future = new BetterSqlite3(path);
    future.pragma('user_version = 99');
    future.exec('CREATE TABLE from_the_future (x)');
    future.close();

    expect(() => openAuthorityDb(path)).toThrow(`database schema version 99 is newer than this program knows (${LATEST}); upgrade the program`);

    const check = new BetterSqlite3(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(99);
      expect(tablesOf(check)).toEqual(['from_the_future']);
    } finally {
      check.close();
    }
  });

  it('given the authority store, then it runs in WAL mode with foreign keys on', () => {
    const db = openAuthorityDb(join(dir, 'authority.db'));
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(() =>
        db.prepare("INSERT INTO products (pid, name, category, owner_id, unbind_supported) VALUES ('p1', 'P', 'camera', 'nobody', 1)").run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
  });

  it('given a migration that fails half-way, when migrating, then the schema and user_version stay as they were', () => {
    const db = new BetterSqlite3(join(dir, 'partial.db'));
    try {
      const broken: Migration[] = [
        ...MIGRATIONS,
        {
          version: LATEST + 1,
          name: 'broken',
          up(d) {
            d.exec('CREATE TABLE half_done (x)');
            throw new Error('the next migration failed');
          },
        },
      ];
      migrateTo(db, AUTHORITY_SCHEMA);
      const before = tablesOf(db);
      expect(() => migrateTo(db, { ...AUTHORITY_SCHEMA, migrations: broken }, LATEST + 1)).toThrow('the next migration failed');
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST);
      expect(tablesOf(db)).toEqual(before);
    } finally {
      db.close();
    }
  });

  it('given a target version, when migrating, then later migrations are not applied yet', () => {
    const db = new BetterSqlite3(join(dir, 'stepwise.db'));
    try {
      const steps: Migration[] = [...MIGRATIONS, { version: LATEST + 1, name: 'extra', up: (d) => d.exec('CREATE TABLE extra (x)') }];
      migrateTo(db, { ...AUTHORITY_SCHEMA, migrations: steps }, LATEST);
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST);
      expect(tablesOf(db)).not.toContain('extra');
      migrateTo(db, { ...AUTHORITY_SCHEMA, migrations: steps }, LATEST + 1);
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST + 1);
      expect(tablesOf(db)).toContain('extra');
    } finally {
      db.close();
    }
  });

  it('0003 decided answers: given a store at 0002 with spent places and their logs, when migrated, then each spent place keeps its decided answer and a retry replays it', () => {
    const path = join(dir, 'decided.db');
    const v1 = openAuthorityDb(path, 2);
    v1.exec(`
      INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES ('acc', 'A', 'EU', 'cid', 'x', 0);
      INSERT INTO tokens (id, secret_hash, account_id, region, capacity, used, channel, created_at, expires_at)
        VALUES ('tok00001', 'h', 'acc', 'EU', 5, 2, 'qr', 0, 600000);
      INSERT INTO device_logs (id, at, dev_id, token_id, result, reason) VALUES
        (1, 10, 'dev-a', 'tok00001', 'UNBOUND', NULL),
        (2, 20, 'dev-a', 'tok00001', 'FAILED', 'TOKEN_REUSED'),
        (3, 30, 'dev-b', 'tok00001', 'FAILED', 'QUOTA_ACCOUNT'),
        (4, 40, 'dev-c', 'tok00001', 'NOT_BOUND', NULL);
      INSERT INTO token_uses (token_id, dev_id) VALUES ('tok00001', 'dev-a'), ('tok00001', 'dev-c');
    `);
    expect(v1.pragma('user_version', { simple: true })).toBe(2);
    v1.close();

    const v2 = openAuthorityDb(path, 3);
    try {
      expect(v2.pragma('user_version', { simple: true })).toBe(3);
      expect(v2.prepare('SELECT token_id, dev_id, result, log_id, decided_at FROM decided_answers ORDER BY dev_id').all()).toEqual([
        { token_id: 'tok00001', dev_id: 'dev-a', result: 'UNBOUND', log_id: 1, decided_at: 10 },
        { token_id: 'tok00001', dev_id: 'dev-c', result: 'NOT_BOUND', log_id: 4, decided_at: 40 },
      ]);
      // The refusal spent nothing and is not a decided answer; rows of 0002 are as they were.
      expect(v2.prepare('SELECT COUNT(*) AS n FROM device_logs').get()).toEqual({ n: 4 });
      expect(v2.prepare('SELECT used FROM tokens').get()).toEqual({ used: 2 });
      expect(v2.prepare('SELECT COUNT(*) AS n FROM token_issue_keys').get()).toEqual({ n: 0 });
      expect(() => v2.prepare("INSERT INTO decided_answers VALUES ('tok00001', 'dev-b', 'FAILED', 3, 30)").run()).toThrow(/CHECK/);
    } finally {
      v2.close();
    }
  });

  it('0005 ticket decisions and serial formats: given a store at 0004 with a decided ticket, when migrated, then the ticket keeps its decision with no reason and products have no format yet', () => {
    const path = join(dir, 'tickets.db');
    const v4 = openAuthorityDb(path, 4);
    v4.exec(`
      INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES ('acc', 'A', 'EU', 'cid', 'x', 0);
      INSERT INTO products (pid, name, category, owner_id, unbind_supported) VALUES ('pcam1', 'Cam', 'ipc', 'acc', 1);
      INSERT INTO quota_tickets (id, requester_id, scope, pid, limit_value, from_day, to_day, reason, status, decided_by, decided_at, created_at)
        VALUES ('qt-1', 'acc', 'product', 'pcam1', 300, '2026-01-01', '2026-01-31', 'wave', 'rejected', 'acc', 5, 1);
    `);
    v4.close();
    const v5 = openAuthorityDb(path, 5);
    try {
      expect(v5.pragma('user_version', { simple: true })).toBe(5);
      expect(v5.prepare('SELECT status, decided_at, decision_reason FROM quota_tickets').get()).toEqual({ status: 'rejected', decided_at: 5, decision_reason: null });
      expect(v5.prepare('SELECT serial_format FROM products').get()).toEqual({ serial_format: null });
    } finally {
      v5.close();
    }
  });
});
