import type { Database } from 'better-sqlite3';
import {
  generateToken,
  sha256Hex,
  signaturesEqual,
  type Channel,
  type IssueTokenRequest,
  type IssuedToken,
  type TokenView,
} from '../protocol/index.js';
import { AuthorityError } from './errors.js';
import { toDeviceResult, type DeviceLogs } from './device-logs.js';
import type { SecretBox } from './secret-box.js';

/** Unbind tokens (DESIGN §4.2): issued to an account, bounded by capacity and expiry. */
export const DEFAULT_TOKEN_TTL_SECONDS = 600;

export interface TokenRow {
  id: string;
  secret_hash: string;
  account_id: string;
  region: string;
  capacity: number;
  used: number;
  channel: Channel;
  batch_ref: string | null;
  created_at: number;
  expires_at: number;
}

export interface Tokens {
  issue(accountId: string, region: string, req: IssueTokenRequest, now: number): IssuedToken;
  /**
   * The same with the station's Idempotency-Key (DESIGN §4.4): the first request with a key issues the
   * token and keeps it with the key in one transaction; a retry with the same key and body gets that token
   * again (`replayed`); the same key with another body is refused 422 IDEMPOTENCY_KEY_REUSED.
   */
  issueOnce(accountId: string, region: string, req: IssueTokenRequest, now: number, key: string): { token: IssuedToken; replayed: boolean };
  row(id: string): TokenRow | undefined;
  /** The token as its issuing account sees it; anyone else gets 404 (no oracle for token ids). */
  viewFor(accountId: string, id: string, now: number): TokenView;
}

export function tokenStatus(t: TokenRow, now: number): TokenView['status'] {
  if (t.used >= t.capacity) return 'exhausted';
  return now >= t.expires_at ? 'expired' : 'active';
}

export function issuedView(t: TokenRow, token: string): IssuedToken {
  return {
    id: t.id,
    token,
    region: t.region,
    capacity: t.capacity,
    channel: t.channel,
    batchRef: t.batch_ref,
    createdAt: new Date(t.created_at).toISOString(),
    expiresAt: new Date(t.expires_at).toISOString(),
  };
}

/** What an Idempotency-Key promises: the request as checked, defaults filled in, so `{}` and `{ttlSeconds: 600}` are one request. */
export const requestHash = (req: IssueTokenRequest): string =>
  sha256Hex(JSON.stringify([req.capacity, req.channel, req.batchRef ?? null, req.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS]));

export function createTokens(db: Database, logs: DeviceLogs, box: SecretBox): Tokens {
  const insert = db.prepare(
    `INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, batch_ref, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?');
  const keyed = db.prepare<[string, string], { request_hash: string; token_id: string; token_enc: string }>(
    'SELECT request_hash, token_id, token_enc FROM token_issue_keys WHERE account_id = ? AND key = ?',
  );
  const keepKey = db.prepare('INSERT INTO token_issue_keys (account_id, key, request_hash, token_id, token_enc, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const tokens: Tokens = {
    issueOnce: (accountId, region, req, now, key) =>
      db
        .transaction(() => {
          const seen = keyed.get(accountId, key);
          if (seen) {
            if (!signaturesEqual(seen.request_hash, requestHash(req))) {
              throw new AuthorityError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request: send a new key for a new token');
            }
            return { token: issuedView(byId.get(seen.token_id)!, box.open(seen.token_enc)), replayed: true };
          }
          const token = tokens.issue(accountId, region, req, now);
          // The full token is answered again on a retry, so it is kept, sealed under the master key like every secret at rest.
          keepKey.run(accountId, key, requestHash(req), token.id, box.seal(token.token), now);
          return { token, replayed: false };
        })
        .immediate(),
    issue(accountId, region, req, now) {
      const expiresAt = now + (req.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) * 1000;
      for (let attempt = 0; attempt < 5; attempt++) {
        const t = generateToken(region);
        if (byId.get(t.id)) continue; // 48-bit ids: a collision is rare, but must not overwrite
        insert.run(t.id, sha256Hex(t.secret), accountId, region, req.capacity, req.channel, req.batchRef ?? null, now, expiresAt);
        return {
          id: t.id,
          token: t.token,
          region,
          capacity: req.capacity,
          channel: req.channel,
          batchRef: req.batchRef ?? null,
          createdAt: new Date(now).toISOString(),
          expiresAt: new Date(expiresAt).toISOString(),
        };
      }
      throw new Error('could not find a free token id');
    },
    row: (id) => byId.get(id),
    viewFor(accountId, id, now) {
      const t = byId.get(id);
      if (!t || t.account_id !== accountId) throw new AuthorityError(404, 'TOKEN_UNKNOWN', `no token ${id} for this account`);
      return {
        id: t.id,
        region: t.region,
        capacity: t.capacity,
        used: t.used,
        channel: t.channel,
        batchRef: t.batch_ref,
        createdAt: new Date(t.created_at).toISOString(),
        expiresAt: new Date(t.expires_at).toISOString(),
        status: tokenStatus(t, now),
        results: logs.forToken(t.id).map(toDeviceResult),
      };
    },
  };
  return tokens;
}
