import type { Database } from 'better-sqlite3';

/**
 * The station's batches, their codes (tokens) and scanned labels: exactly the schema the store's inline
 * migration 1 created before it moved here, so a `batches.db` written then opens as version 1.
 */
export function up(db: Database): void {
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
}
