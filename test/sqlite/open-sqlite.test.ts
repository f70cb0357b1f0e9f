import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestVersion, migrateTo, openSqliteReader, openSqliteWriter, type SqliteSchema } from '../../src/sqlite/index.js';

/** The helper every store opens through (DESIGN §2 sqlite), on real files. */

const NOTES: SqliteSchema = {
  label: 'notes schema',
  migrations: [
    { version: 1, name: 'notes', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)') },
    { version: 2, name: 'note-authors', up: (db) => db.exec("ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'") },
  ],
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'open-sqlite-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const columnsOf = (db: BetterSqlite3.Database, table: string): string[] =>
  (db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(table) as Array<{ name: string }>).map((r) => r.name);

describe('opening a SQLite file', () => {
  it('given an empty file, when a store opens it, then it is in WAL mode with the caller\'s pragmas, migrated to the latest version', () => {
    const db = openSqliteWriter(join(dir, 'notes.db'), { schema: NOTES, pragmas: ['synchronous = NORMAL', 'foreign_keys = ON', 'wal_autocheckpoint = 10000'] });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10000);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(latestVersion(NOTES)).toBe(2);
      expect(columnsOf(db, 'notes')).toEqual(['id', 'text', 'author']);
    } finally {
      db.close();
    }
  });

  it('given a target, when opened, then later migrations wait; opening again without one finishes them and keeps the rows', () => {
    const path = join(dir, 'notes.db');
    const v1 = openSqliteWriter(path, { schema: NOTES, target: 1 });
    v1.prepare("INSERT INTO notes (text) VALUES ('kept')").run();
    expect(columnsOf(v1, 'notes')).toEqual(['id', 'text']);
    v1.close();

    const v2 = openSqliteWriter(path, { schema: NOTES });
    try {
      expect(v2.pragma('user_version', { simple: true })).toBe(2);
      expect(v2.prepare('SELECT text, author FROM notes').all()).toEqual([{ text: 'kept', author: 'unknown' }]);
    } finally {
      v2.close();
    }
  });

  it('given pragmas that need the schema, then they run after migrating', () => {
    const db = openSqliteWriter(join(dir, 'notes.db'), {
      schema: NOTES,
      pragmasAfterMigrating: ['analysis_limit = 1000', 'optimize = 0x10002'],
    });
    try {
      expect(db.pragma('analysis_limit', { simple: true })).toBe(1000);
    } finally {
      db.close();
    }
  });

  it('given a file written by a newer program, then it is refused with its label named and left untouched, not even switched to WAL', () => {
    const path = join(dir, 'future.db');
    const future = new BetterSqlite3(path);
    future.pragma('user_version = 7');
    future.exec('CREATE TABLE from_the_future (x)');
    future.close();

    expect(() => openSqliteWriter(path, { schema: NOTES })).toThrow('notes schema version 7 is newer than this program knows (2); upgrade the program');
    const check = new BetterSqlite3(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(7);
      expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      check.close();
    }
  });

  it('given a migration that fails half-way, then the open fails, the file keeps its last good version, and no connection is left open', () => {
    const path = join(dir, 'notes.db');
    openSqliteWriter(path, { schema: NOTES }).close();
    const broken: SqliteSchema = {
      ...NOTES,
      migrations: [...NOTES.migrations, { version: 3, name: 'broken', up: (db) => { db.exec('CREATE TABLE half_done (x)'); throw new Error('migration 3 failed'); } }],
    };
    expect(() => openSqliteWriter(path, { schema: broken })).toThrow('migration 3 failed');

    const check = new BetterSqlite3(path);
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(2);
      expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").all()).toEqual([]);
      // No connection of the failed open holds the file: an exclusive write goes through at once.
      check.pragma('busy_timeout = 0');
      expect(() => check.exec('BEGIN EXCLUSIVE; COMMIT')).not.toThrow();
    } finally {
      check.close();
    }
  });

  it('given a migrated file, when migrating it again, then nothing runs twice', () => {
    let runs = 0;
    const counted: SqliteSchema = { label: 'counted', migrations: [{ version: 1, name: 'count', up: () => void runs++ }] };
    const db = new BetterSqlite3(join(dir, 'counted.db'));
    try {
      migrateTo(db, counted);
      migrateTo(db, counted);
      expect(runs).toBe(1);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });

  it('given a store that is open for writing, when a reader opens the same file, then it sees committed rows and cannot write', () => {
    const path = join(dir, 'notes.db');
    const writer = openSqliteWriter(path, { schema: NOTES });
    const reader = openSqliteReader(path, ['cache_size = -2048']);
    try {
      writer.prepare("INSERT INTO notes (text, author) VALUES ('seen', 'Ana')").run();
      expect(reader.pragma('cache_size', { simple: true })).toBe(-2048);
      expect(reader.prepare('SELECT text FROM notes').all()).toEqual([{ text: 'seen' }]);
      expect(() => reader.prepare("INSERT INTO notes (text) VALUES ('no')").run()).toThrow(/readonly/);
    } finally {
      reader.close();
      writer.close();
    }
  });

  it('given no file, then a reader refuses to create one', () => {
    expect(() => openSqliteReader(join(dir, 'missing.db'))).toThrow();
  });
});
