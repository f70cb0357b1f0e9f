import type { Database } from 'better-sqlite3';
import { randomUrlSafe, type Me } from '../protocol/index.js';
import type { SecretBox } from './secret-box.js';

export interface AccountRecord extends Me {
  secret: string;
}

export interface NewAccount {
  id: string;
  name: string;
  region: string;
  clientId?: string;
  secret?: string;
}

/** Developer accounts (the station side's identities) and their API credentials. */
export interface Accounts {
  create(a: NewAccount, now: number): AccountRecord;
  byClientId(clientId: string): AccountRecord | undefined;
  byId(accountId: string): Me | undefined;
  /** The "verified installer" flag (DESIGN §4.10): only such an account files cases. */
  isVerifiedInstaller(accountId: string): boolean;
  setVerifiedInstaller(accountId: string, verified: boolean): void;
}

export function createAccounts(db: Database, box: SecretBox): Accounts {
  const insert = db.prepare('INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const byClient = db.prepare<[string], { id: string; name: string; region: string; client_id: string; secret_enc: string }>(
    'SELECT id, name, region, client_id, secret_enc FROM accounts WHERE client_id = ?',
  );
  const byIdStmt = db.prepare<[string], { id: string; name: string; region: string; client_id: string }>(
    'SELECT id, name, region, client_id FROM accounts WHERE id = ?',
  );
  const verifiedOf = db.prepare<[string], { verified_installer: number }>('SELECT verified_installer FROM accounts WHERE id = ?');
  const setVerified = db.prepare('UPDATE accounts SET verified_installer = ? WHERE id = ?');
  // Decrypting on every signed request is wasted work; accounts and secrets do not change once made.
  const cache = new Map<string, AccountRecord>();
  return {
    create(a, now) {
      const clientId = a.clientId ?? randomUrlSafe(20).toLowerCase().replace(/[-_]/g, 'x');
      const secret = a.secret ?? randomUrlSafe(32);
      insert.run(a.id, a.name, a.region, clientId, box.seal(secret), now);
      return { accountId: a.id, name: a.name, region: a.region, clientId, secret };
    },
    byClientId(clientId) {
      const hit = cache.get(clientId);
      if (hit) return hit;
      const row = byClient.get(clientId);
      if (!row) return undefined;
      const rec = { accountId: row.id, name: row.name, region: row.region, clientId: row.client_id, secret: box.open(row.secret_enc) };
      cache.set(clientId, rec);
      return rec;
    },
    byId(accountId) {
      const row = byIdStmt.get(accountId);
      return row && { accountId: row.id, name: row.name, region: row.region, clientId: row.client_id };
    },
    isVerifiedInstaller: (accountId) => verifiedOf.get(accountId)?.verified_installer === 1,
    setVerifiedInstaller(accountId, verified) {
      setVerified.run(verified ? 1 : 0, accountId);
    },
  };
}
