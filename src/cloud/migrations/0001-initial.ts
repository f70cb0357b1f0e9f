import type { Database } from 'better-sqlite3';

/** The authority's first schema: the whole domain of DESIGN §2 (cloud) and §8 (quota). */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE accounts (
      id          TEXT PRIMARY KEY,
      name        TEXT NOT NULL,
      region      TEXT NOT NULL,
      client_id   TEXT NOT NULL UNIQUE,
      secret_enc  TEXT NOT NULL,            -- AES-256-GCM under the authority's master key
      created_at  INTEGER NOT NULL
    );
    CREATE TABLE consumers (                -- end-user accounts that devices are bound to
      id      TEXT PRIMARY KEY,
      name    TEXT NOT NULL,
      region  TEXT NOT NULL
    );
    CREATE TABLE products (
      pid               TEXT PRIMARY KEY,
      name              TEXT NOT NULL,
      category          TEXT NOT NULL,
      owner_id          TEXT NOT NULL REFERENCES accounts(id),
      unbind_supported  INTEGER NOT NULL,
      min_firmware      TEXT,
      oem_source_id     TEXT REFERENCES accounts(id)
    );
    CREATE INDEX products_owner ON products(owner_id);
    CREATE TABLE devices (
      dev_id    TEXT PRIMARY KEY,
      serial    TEXT NOT NULL UNIQUE,
      pid       TEXT NOT NULL REFERENCES products(pid),
      region    TEXT NOT NULL,
      firmware  TEXT NOT NULL,
      key_enc   TEXT NOT NULL               -- AES-256-GCM under the master key
    );
    CREATE INDEX devices_pid ON devices(pid);
    CREATE TABLE bindings (
      dev_id       TEXT PRIMARY KEY REFERENCES devices(dev_id),
      consumer_id  TEXT NOT NULL REFERENCES consumers(id),
      bound_at     INTEGER NOT NULL
    );
    CREATE TABLE shares (
      dev_id       TEXT NOT NULL REFERENCES devices(dev_id),
      channel      INTEGER NOT NULL,
      owner_id     TEXT NOT NULL REFERENCES consumers(id),
      receiver_id  TEXT NOT NULL REFERENCES consumers(id),
      shared_at    INTEGER NOT NULL,
      PRIMARY KEY (dev_id, channel, receiver_id)
    ) WITHOUT ROWID;
    CREATE INDEX shares_receiver ON shares(receiver_id, owner_id);

    CREATE TABLE partner_grants (
      id          INTEGER PRIMARY KEY,
      pid         TEXT NOT NULL REFERENCES products(pid),
      account_id  TEXT NOT NULL REFERENCES accounts(id),
      granted_at  INTEGER NOT NULL,
      revoked_at  INTEGER
    );
    CREATE UNIQUE INDEX partner_grants_active ON partner_grants(pid, account_id) WHERE revoked_at IS NULL;
    CREATE INDEX partner_grants_account ON partner_grants(account_id);
    CREATE TABLE spaces (
      id        TEXT PRIMARY KEY,
      owner_id  TEXT NOT NULL UNIQUE REFERENCES accounts(id)
    );
    CREATE TABLE roles (
      id            TEXT PRIMARY KEY,
      space_id      TEXT NOT NULL REFERENCES spaces(id),
      name          TEXT NOT NULL,
      kind          TEXT NOT NULL CHECK (kind IN ('after-sale', 'administrator', 'custom')),
      can_unbind    INTEGER NOT NULL,
      all_products  INTEGER NOT NULL
    );
    CREATE TABLE role_products (             -- a role's data permission
      role_id  TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
      pid      TEXT NOT NULL REFERENCES products(pid),
      PRIMARY KEY (role_id, pid)
    ) WITHOUT ROWID;
    CREATE TABLE space_members (
      space_id    TEXT NOT NULL REFERENCES spaces(id),
      account_id  TEXT NOT NULL REFERENCES accounts(id),
      role_id     TEXT NOT NULL REFERENCES roles(id),
      since       INTEGER NOT NULL,
      PRIMARY KEY (space_id, account_id)
    ) WITHOUT ROWID;
    CREATE INDEX space_members_account ON space_members(account_id);

    CREATE TABLE tokens (
      id           TEXT PRIMARY KEY,
      secret_hash  TEXT NOT NULL,            -- SHA-256 of the secret part; the secret itself is never stored
      account_id   TEXT NOT NULL REFERENCES accounts(id),
      region       TEXT NOT NULL,
      capacity     INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 30),
      used         INTEGER NOT NULL DEFAULT 0,
      channel      TEXT NOT NULL,
      batch_ref    TEXT,
      created_at   INTEGER NOT NULL,
      expires_at   INTEGER NOT NULL,
      CHECK (used <= capacity)
    );
    CREATE INDEX tokens_account ON tokens(account_id, created_at);
    CREATE TABLE token_uses (
      token_id  TEXT NOT NULL REFERENCES tokens(id),
      dev_id    TEXT NOT NULL,
      PRIMARY KEY (token_id, dev_id)
    ) WITHOUT ROWID;

    CREATE TABLE device_logs (
      id           INTEGER PRIMARY KEY AUTOINCREMENT,
      at           INTEGER NOT NULL,
      dev_id       TEXT NOT NULL,
      serial       TEXT,
      pid          TEXT,
      region       TEXT,
      operator_id  TEXT,
      token_id     TEXT,
      channel      TEXT,
      batch_ref    TEXT,
      result       TEXT NOT NULL CHECK (result IN ('UNBOUND', 'NOT_BOUND', 'FAILED')),
      reason       TEXT
    );
    CREATE INDEX device_logs_pid ON device_logs(pid, id);
    CREATE INDEX device_logs_operator ON device_logs(operator_id, id);
    CREATE INDEX device_logs_token ON device_logs(token_id, id);
    CREATE INDEX device_logs_dev ON device_logs(dev_id, id);

    CREATE TABLE device_nonces (
      dev_id   TEXT NOT NULL,
      nonce    TEXT NOT NULL,
      seen_at  INTEGER NOT NULL,
      PRIMARY KEY (dev_id, nonce)
    ) WITHOUT ROWID;
    CREATE TABLE api_nonces (
      client_id  TEXT NOT NULL,
      nonce      TEXT NOT NULL,
      seen_at    INTEGER NOT NULL,
      PRIMARY KEY (client_id, nonce)
    ) WITHOUT ROWID;
    CREATE INDEX api_nonces_seen ON api_nonces(seen_at);

    CREATE TABLE quota_usage (
      day    TEXT NOT NULL,
      scope  TEXT NOT NULL CHECK (scope IN ('account', 'product')),
      key    TEXT NOT NULL,
      used   INTEGER NOT NULL,
      PRIMARY KEY (day, scope, key)
    ) WITHOUT ROWID;
    CREATE TABLE quota_tickets (
      id            TEXT PRIMARY KEY,
      requester_id  TEXT NOT NULL REFERENCES accounts(id),
      scope         TEXT NOT NULL CHECK (scope IN ('account', 'product')),
      pid           TEXT NOT NULL REFERENCES products(pid),
      limit_value   INTEGER NOT NULL,
      from_day      TEXT NOT NULL,
      to_day        TEXT NOT NULL,
      reason        TEXT NOT NULL,
      status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
      decided_by    TEXT REFERENCES accounts(id),
      decided_at    INTEGER,
      created_at    INTEGER NOT NULL
    );
    CREATE INDEX quota_tickets_pid ON quota_tickets(pid, status);

    CREATE TABLE meta (
      key    TEXT PRIMARY KEY,
      value  TEXT NOT NULL
    );
  `);
}
