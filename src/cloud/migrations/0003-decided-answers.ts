import type { Database } from 'better-sqlite3';

/**
 * Answers that stay decided (DESIGN §4.3, §4.4): a device that lost the answer to its unbind and asks
 * again (same devId and token, new nonce) is told what was decided, and a station that lost the answer
 * to a token issue and asks again with the same Idempotency-Key gets the token already issued.
 */
export function up(db: Database): void {
  db.exec(`
    -- One row per decision that spent the device's place on the token (UNBOUND or NOT_BOUND), written in
    -- the unbind's own transaction. A refusal changes nothing and is not kept: a retry is decided again.
    CREATE TABLE decided_answers (
      token_id    TEXT NOT NULL REFERENCES tokens(id),
      dev_id      TEXT NOT NULL,
      result      TEXT NOT NULL CHECK (result IN ('UNBOUND', 'NOT_BOUND')),
      log_id      INTEGER NOT NULL REFERENCES device_logs(id),
      decided_at  INTEGER NOT NULL,
      PRIMARY KEY (token_id, dev_id)
    ) WITHOUT ROWID;

    -- Places spent before this migration were decided too: their first UNBOUND / NOT_BOUND row says how.
    INSERT INTO decided_answers (token_id, dev_id, result, log_id, decided_at)
      SELECT u.token_id, u.dev_id, l.result, l.id, l.at
        FROM token_uses u
        JOIN device_logs l ON l.id = (
          SELECT MIN(id) FROM device_logs
           WHERE token_id = u.token_id AND dev_id = u.dev_id AND result IN ('UNBOUND', 'NOT_BOUND'));

    -- A station's Idempotency-Key for POST /unbind-tokens, stored with the token it issued.
    CREATE TABLE token_issue_keys (
      account_id    TEXT NOT NULL REFERENCES accounts(id),
      key           TEXT NOT NULL,
      request_hash  TEXT NOT NULL,            -- SHA-256 of the request as checked: the same key with another body is refused
      token_id      TEXT NOT NULL REFERENCES tokens(id),
      token_enc     TEXT NOT NULL,            -- the full token, AES-256-GCM under the master key, to answer it again
      created_at    INTEGER NOT NULL,
      PRIMARY KEY (account_id, key)
    ) WITHOUT ROWID;
  `);
}
