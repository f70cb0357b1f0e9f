import type { Pool, PoolClient } from 'pg';
import {
  CLOCK_SKEW_MS,
  compareFirmware,
  parseToken,
  sha256Hex,
  signDeviceRequest,
  signaturesEqual,
  type DeviceUnbindRequest,
  type FailureCode,
  type UnbindResult,
} from '../../protocol/index.js';
import { DEFAULT_DAILY_LIMIT } from '../../quota/quota-ledger.js';
import { dayWindow, type DayWindow } from '../../quota/day-window.js';
import type { LogRow, NewLog } from '../device-logs.js';
import type { SecretBox } from '../secret-box.js';
import type { TokenRow } from '../tokens.js';

/**
 * The device unbind (DESIGN §3, §4.3, §8) on PostgreSQL, shared by several authority nodes: the same checks
 * in the same order as src/cloud/unbind.ts, and the same writes, in one READ COMMITTED transaction.
 *
 * Why READ COMMITTED is exact here: every row whose value decides the answer and that another node may
 * change meanwhile is either locked before it is read, by a statement that starts after the lock (the token:
 * FOR NO KEY UPDATE, then its uses; the binding: FOR UPDATE), or changed by a conditional update that
 * PostgreSQL re-checks on the newest committed version (quota `used < limit`, token `used < capacity`),
 * or guarded by a unique index (nonce, token use). Grants and product flags are read unlocked: a revoke
 * that commits meanwhile is ordered before or after this unbind, as on SQLite. SERIALIZABLE would give the
 * same answers but abort most of a burst (every unbind of one account writes the same quota row) and need
 * retries; READ COMMITTED waits instead, and the one lock order (token → binding → account quota →
 * product quota) leaves no cycle to deadlock on.
 *
 * The token lock also orders a token's events: a log row naming a token is inserted only while its token
 * row is locked, so its identity id is drawn after every earlier row of that token committed. Read by id,
 * a token's rows therefore never gain a smaller id later (see pg-token-feed.ts).
 */
interface DeviceRow {
  dev_id: string;
  serial: string;
  pid: string;
  region: string;
  firmware: string;
  key_enc: string;
  unbind_supported: boolean;
  min_firmware: string | null;
}

interface LockedToken extends TokenRow {
  granted: boolean;
}

export interface PgUnbindOutcome {
  result: UnbindResult;
  reason?: FailureCode;
  log: LogRow;
  /** The token was used up by this decision (its stream ends). */
  exhausted: boolean;
}

export interface PgUnbindOptions {
  pool: Pool;
  box: SecretBox;
  timeZone: string;
  clock?: () => number;
  accountLimit?: number;
  productLimit?: number;
}

export interface PgUnbind {
  unbind(req: DeviceUnbindRequest): Promise<PgUnbindOutcome>;
}

const DEVICE_SQL = `SELECT d.dev_id, d.serial, d.pid, d.region, d.firmware, d.key_enc, p.unbind_supported, p.min_firmware
  FROM devices d JOIN products p ON p.pid = d.pid WHERE d.dev_id = $1`;

const LOG_COLUMNS = 'at, dev_id, serial, pid, region, operator_id, token_id, channel, batch_ref, result, reason';
const LOG_VALUES = '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11';
// Typed, because in INSERT … SELECT an untyped parameter is text and would not fit a BIGINT column.
const LOG_VALUES_TYPED = '$1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::text';
const INSERT_LOG_SQL = `INSERT INTO device_logs (${LOG_COLUMNS}) VALUES (${LOG_VALUES}) RETURNING id`;
const logParams = (r: NewLog): unknown[] => [r.at, r.dev_id, r.serial, r.pid, r.region, r.operator_id, r.token_id, r.channel, r.batch_ref, r.result, r.reason];

const NONCE_SQL = 'INSERT INTO device_nonces (dev_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING';

// Who may unbind (DESIGN §7), as src/cloud/grants.ts decides it; evaluated live, so a revoke stops issued tokens.
const TOKEN_SQL = `SELECT t.*, COALESCE(
    p.owner_id = t.account_id
    OR EXISTS (SELECT 1 FROM spaces s JOIN space_members m ON m.space_id = s.id JOIN roles r ON r.id = m.role_id
                WHERE s.owner_id = p.owner_id AND m.account_id = t.account_id AND r.can_unbind
                  AND (r.all_products OR EXISTS (SELECT 1 FROM role_products rp WHERE rp.role_id = r.id AND rp.pid = p.pid)))
    OR EXISTS (SELECT 1 FROM partner_grants g WHERE g.pid = p.pid AND g.account_id = t.account_id AND g.revoked_at IS NULL)
    OR p.oem_source_id = t.account_id, false) AS granted
  FROM tokens t JOIN products p ON p.pid = $2
 WHERE t.id = $1
   FOR NO KEY UPDATE OF t`;

const REUSED_SQL = 'SELECT 1 FROM token_uses WHERE token_id = $1 AND dev_id = $2';
const BINDING_SQL = 'SELECT 1 FROM bindings WHERE dev_id = $1 FOR UPDATE';

// Both counters in one statement; the product one is tried only when the account one was paid.
const QUOTA_SQL = `WITH arg AS (SELECT $1::text AS day, $2::text AS account, $3::text AS pid), lim AS (
    SELECT GREATEST($4::int, COALESCE((SELECT MAX(limit_value) FROM quota_tickets WHERE status = 'approved' AND scope = 'account'
                                          AND requester_id = $2 AND from_day <= $1 AND to_day >= $1), $4)) AS account,
           GREATEST($5::int, COALESCE((SELECT MAX(limit_value) FROM quota_tickets WHERE status = 'approved' AND scope = 'product'
                                          AND pid = $3 AND from_day <= $1 AND to_day >= $1), $5)) AS product
  ), a AS (
    INSERT INTO quota_usage AS q (day, scope, key, used) SELECT $1::text, 'account', $2::text, 1 FROM lim WHERE lim.account > 0
    ON CONFLICT (day, scope, key) DO UPDATE SET used = q.used + 1 WHERE q.used < (SELECT account FROM lim)
    RETURNING used
  ), p AS (
    INSERT INTO quota_usage AS q (day, scope, key, used) SELECT $1::text, 'product', $3::text, 1 FROM lim WHERE lim.product > 0 AND EXISTS (SELECT 1 FROM a)
    ON CONFLICT (day, scope, key) DO UPDATE SET used = q.used + 1 WHERE q.used < (SELECT product FROM lim)
    RETURNING used
  )
  SELECT (SELECT used FROM a) AS account_used, (SELECT used FROM p) AS product_used`;
// The account place taken by a request the product refused is given back; we hold that row's lock.
const QUOTA_GIVE_BACK_SQL = `UPDATE quota_usage SET used = used - 1 WHERE day = $1 AND scope = 'account' AND key = $2`;

// The token's place is taken by a conditional update: nothing is written unless a place was free.
const USE_SQL = `WITH t AS (
    UPDATE tokens SET used = used + 1 WHERE id = $12::text AND used < capacity RETURNING used, capacity
  ), s AS (
    DELETE FROM shares WHERE $13::boolean AND dev_id = $2 AND EXISTS (SELECT 1 FROM t)
  ), b AS (
    DELETE FROM bindings WHERE $13::boolean AND dev_id = $2 AND EXISTS (SELECT 1 FROM t)
  ), u AS (
    INSERT INTO token_uses (token_id, dev_id) SELECT $12::text, $2::text FROM t
  ), l AS (
    INSERT INTO device_logs (${LOG_COLUMNS}) SELECT ${LOG_VALUES_TYPED} FROM t RETURNING id
  )
  SELECT l.id, t.used, t.capacity FROM l, t`;

export function createPgUnbind(o: PgUnbindOptions): PgUnbind {
  const { pool, box } = o;
  const clock = o.clock ?? Date.now;
  const limits = { account: o.accountLimit ?? DEFAULT_DAILY_LIMIT, product: o.productLimit ?? DEFAULT_DAILY_LIMIT };
  // Device keys never change; decrypting one per request would dominate the hot path.
  const keys = new Map<string, string>();
  const keyOf = (d: DeviceRow): string => {
    let k = keys.get(d.dev_id);
    if (k === undefined) {
      k = box.open(d.key_enc);
      keys.set(d.dev_id, k);
    }
    return k;
  };
  let cached: DayWindow = { day: '', startsAt: 0, endsAt: 0 };
  const dayOf = (now: number): string => {
    if (now < cached.startsAt || now >= cached.endsAt) cached = dayWindow(now, o.timeZone);
    return cached.day;
  };

  async function append(c: Pool | PoolClient, row: NewLog): Promise<LogRow> {
    const r = await c.query<{ id: number }>(INSERT_LOG_SQL, logParams(row));
    return { id: r.rows[0]!.id, ...row };
  }

  /** Everything after the signature, in the caller's transaction. */
  async function decide(c: PoolClient, req: DeviceUnbindRequest, dev: DeviceRow, base: NewLog, now: number): Promise<PgUnbindOutcome> {
    const withToken = (t: TokenRow): Partial<NewLog> => ({ operator_id: t.account_id, token_id: t.id, channel: t.channel, batch_ref: t.batch_ref });
    const done = async (result: UnbindResult, reason: FailureCode | null, t?: LockedToken): Promise<PgUnbindOutcome> => {
      const log = await append(c, { ...base, result, reason, ...(t ? withToken(t) : {}) });
      return { result, ...(reason ? { reason } : {}), log, exhausted: !!t && t.used >= t.capacity };
    };

    // Only a correctly signed request burns its nonce; the unique key makes a second use, on any node, a REPLAY.
    if ((await c.query(NONCE_SQL, [req.devId, req.nonce, now])).rowCount === 0) return done('FAILED', 'REPLAY');
    const parsed = parseToken(req.token);
    if (!parsed.ok) return done('FAILED', 'TOKEN_INVALID');
    const token = (await c.query<LockedToken>(TOKEN_SQL, [parsed.value.id, dev.pid])).rows[0];
    if (!token || !signaturesEqual(sha256Hex(parsed.value.secret), token.secret_hash)) return done('FAILED', 'TOKEN_INVALID');
    if (token.region !== dev.region || parsed.value.region !== token.region) return done('FAILED', 'REGION_MISMATCH', token);
    if (now >= token.expires_at) return done('FAILED', 'TOKEN_EXPIRED', token);
    // A statement after the lock sees every use committed before it: no node adds one while we hold the token.
    if ((await c.query(REUSED_SQL, [token.id, dev.dev_id])).rowCount) return done('FAILED', 'TOKEN_REUSED', token);
    if (token.used >= token.capacity) return done('FAILED', 'TOKEN_EXHAUSTED', token);
    if (!dev.unbind_supported) return done('FAILED', 'UNSUPPORTED_PRODUCT', token);
    if (dev.min_firmware && compareFirmware(dev.firmware, dev.min_firmware) < 0) return done('FAILED', 'FIRMWARE_UNSUPPORTED', token);
    if (!token.granted) return done('FAILED', 'UNAUTHORIZED', token);

    // Locked, so a second request for this device (another token, another node) waits and then finds it unbound.
    const bound = ((await c.query(BINDING_SQL, [dev.dev_id])).rowCount ?? 0) > 0;
    if (bound) {
      const day = dayOf(now);
      const q = (await c.query<{ account_used: number | null; product_used: number | null }>(QUOTA_SQL, [day, token.account_id, dev.pid, limits.account, limits.product])).rows[0]!;
      if (q.account_used === null) return done('FAILED', 'QUOTA_ACCOUNT', token);
      if (q.product_used === null) {
        await c.query(QUOTA_GIVE_BACK_SQL, [day, token.account_id]);
        return done('FAILED', 'QUOTA_PRODUCT', token);
      }
    }
    const result: UnbindResult = bound ? 'UNBOUND' : 'NOT_BOUND';
    const row: NewLog = { ...base, result, reason: null, ...withToken(token) };
    const used = (await c.query<{ id: number; used: number; capacity: number }>(USE_SQL, [...logParams(row), token.id, bound])).rows[0];
    // We hold the token and saw a free place: a missing place here is a broken rule, not an answer.
    if (!used) throw new Error(`token ${token.id} had no free place although it was locked with one`);
    return { result, log: { id: used.id, ...row }, exhausted: used.used >= used.capacity };
  }

  return {
    async unbind(req) {
      const now = clock();
      const dev = (await pool.query<DeviceRow>(DEVICE_SQL, [req.devId])).rows[0];
      const base: NewLog = {
        at: now,
        dev_id: req.devId,
        serial: dev?.serial ?? null,
        pid: dev?.pid ?? null,
        region: dev?.region ?? null,
        operator_id: null,
        token_id: null,
        channel: null,
        batch_ref: null,
        result: 'FAILED',
        reason: null,
      };
      // Nobody may read a row about a device no product owns, and anyone can send these: answer, keep nothing.
      if (!dev) return { result: 'FAILED', reason: 'DEVICE_UNKNOWN', log: { id: 0, ...base, reason: 'DEVICE_UNKNOWN' }, exhausted: false };
      if (!signaturesEqual(signDeviceRequest(keyOf(dev), req.devId, req.token, req.ts, req.nonce), req.sig)) {
        const log = await append(pool, { ...base, reason: 'DEVICE_AUTH' });
        return { result: 'FAILED', reason: 'DEVICE_AUTH', log, exhausted: false };
      }
      if (Math.abs(now - req.ts) > CLOCK_SKEW_MS) {
        const log = await append(pool, { ...base, reason: 'REPLAY' });
        return { result: 'FAILED', reason: 'REPLAY', log, exhausted: false };
      }
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const out = await decide(c, req, dev, base, now);
        await c.query('COMMIT');
        c.release();
        return out;
      } catch (err) {
        // A client whose ROLLBACK fails is broken: the pool must not hand it out again.
        const broken = await c.query('ROLLBACK').then(() => undefined, (e: unknown) => (e instanceof Error ? e : new Error(String(e))));
        c.release(broken);
        throw err;
      }
    },
  };
}
