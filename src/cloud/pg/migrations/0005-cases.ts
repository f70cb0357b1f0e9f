import type { PoolClient } from 'pg';

/**
 * The twin of SQLite's 0004-cases (issue 12, DESIGN §4.10): the account's verified-installer flag and the
 * cases table, so both stores hold the same schema (served on PostgreSQL by src/cloud/pg/pg-cases.ts).
 */
export async function up(c: PoolClient): Promise<void> {
  await c.query(`
    ALTER TABLE accounts ADD COLUMN verified_installer INTEGER NOT NULL DEFAULT 0 CHECK (verified_installer IN (0, 1));

    CREATE TABLE cases (
      seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id                TEXT NOT NULL UNIQUE,
      kind              TEXT NOT NULL CHECK (kind IN ('unbind', 'password-reset')),
      filer_id          TEXT NOT NULL REFERENCES accounts(id),
      dev_id            TEXT NOT NULL REFERENCES devices(dev_id),
      pid               TEXT NOT NULL REFERENCES products(pid),
      label_serial      TEXT,
      photo             BYTEA NOT NULL,
      photo_type        TEXT NOT NULL CHECK (photo_type IN ('image/jpeg', 'image/png')),
      reset_challenge   TEXT,
      reset_issued_at   BIGINT,
      note              TEXT,
      state             TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
      filed_at          BIGINT NOT NULL,
      due_at            BIGINT NOT NULL,
      reviewer_id       TEXT REFERENCES accounts(id),
      decided_at        BIGINT,
      reject_code       TEXT CHECK (reject_code IN ('SERIAL_MISMATCH', 'NOT_BOUND', 'NOT_VERIFIED', 'UNAUTHORIZED')),
      review_note       TEXT,
      log_id            BIGINT REFERENCES device_logs(id),
      CHECK ((kind = 'password-reset') = (reset_challenge IS NOT NULL)),
      CHECK ((state = 'submitted') = (decided_at IS NULL)),
      CHECK ((state = 'rejected') = (reject_code IS NOT NULL))
    );
    CREATE INDEX cases_pid ON cases(pid, seq);
    CREATE INDEX cases_filer ON cases(filer_id, seq);
  `);
}
