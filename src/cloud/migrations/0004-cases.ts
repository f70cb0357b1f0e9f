import type { Database } from 'better-sqlite3';

/**
 * Cases (DESIGN §4.10, issue 12): the "verified installer" flag of an account, and the cases such an
 * installer files for a device that is not on the bench, with the photo of its label. No reset code is
 * stored: it is computed from the device key when an approved reset case is read.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE accounts ADD COLUMN verified_installer INTEGER NOT NULL DEFAULT 0 CHECK (verified_installer IN (0, 1));

    CREATE TABLE cases (
      seq               INTEGER PRIMARY KEY AUTOINCREMENT,   -- the list's order and cursor
      id                TEXT NOT NULL UNIQUE,
      kind              TEXT NOT NULL CHECK (kind IN ('unbind', 'password-reset')),
      filer_id          TEXT NOT NULL REFERENCES accounts(id),
      dev_id            TEXT NOT NULL REFERENCES devices(dev_id),
      pid               TEXT NOT NULL REFERENCES products(pid),
      label_serial      TEXT,                                -- as typed or scanned from the label
      photo             BLOB NOT NULL,
      photo_type        TEXT NOT NULL CHECK (photo_type IN ('image/jpeg', 'image/png')),
      reset_challenge   TEXT,
      reset_issued_at   INTEGER,
      note              TEXT,
      state             TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
      filed_at          INTEGER NOT NULL,
      due_at            INTEGER NOT NULL,
      reviewer_id       TEXT REFERENCES accounts(id),
      decided_at        INTEGER,
      reject_code       TEXT CHECK (reject_code IN ('SERIAL_MISMATCH', 'NOT_BOUND', 'NOT_VERIFIED', 'UNAUTHORIZED')),
      review_note       TEXT,
      log_id            INTEGER REFERENCES device_logs(id),  -- the unbind an approved unbind case made
      CHECK ((kind = 'password-reset') = (reset_challenge IS NOT NULL)),
      CHECK ((state = 'submitted') = (decided_at IS NULL)),
      CHECK ((state = 'rejected') = (reject_code IS NOT NULL))
    );
    CREATE INDEX cases_pid ON cases(pid, seq);
    CREATE INDEX cases_filer ON cases(filer_id, seq);
  `);
}
