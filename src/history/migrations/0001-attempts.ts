import type { Database } from 'better-sqlite3';

/**
 * The operation log: one row per unbind attempt. There is deliberately no column that could hold a
 * Wi-Fi password or a token secret: `token_id` is the 8-character public id of a token, never the token.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE attempts (
      id          INTEGER PRIMARY KEY,      -- rowid; the tie-breaker of the (at, id) page order
      at          INTEGER NOT NULL,         -- Unix ms
      station_id  TEXT NOT NULL,
      operator    TEXT NOT NULL,            -- the person at the bench
      account_id  TEXT NOT NULL,            -- the authority account the attempt ran under
      method      TEXT NOT NULL,            -- qr | wired | serial; checked by zod, not here, so a new method needs no table rebuild
      batch_id    TEXT,
      pid         TEXT,
      dev_id      TEXT NOT NULL,
      serial      TEXT,
      result      TEXT NOT NULL CHECK (result IN ('UNBOUND', 'NOT_BOUND', 'FAILED')),
      code        TEXT,                     -- failure code (DESIGN §5): always on FAILED, a flag on others
      token_id    TEXT,
      seq         INTEGER,                  -- the authority's event-stream sequence number of this result
      CHECK (result <> 'FAILED' OR code IS NOT NULL)
    ) STRICT;
    -- Restart reconciliation replays the authority's results: the same (token, seq) is stored once.
    -- NULLs are distinct in a UNIQUE index, so attempts without both keep no dedupe, as intended.
    CREATE UNIQUE INDEX attempts_token_seq ON attempts(token_id, seq);
  `);
}
