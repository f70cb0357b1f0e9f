import type { Database } from 'better-sqlite3';
import {
  CLOCK_SKEW_MS,
  compareFirmware,
  parseToken,
  sha256Hex,
  signDeviceRequest,
  signaturesEqual,
  type DeviceUnbindRequest,
  type DeviceUnbindResponse,
  type FailureCode,
  type UnbindResult,
} from '../protocol/index.js';
import type { QuotaLedger } from '../quota/quota-ledger.js';
import type { SecretBox } from './secret-box.js';
import type { GrantResolver } from './grants.js';
import { toDeviceResult, type DeviceLogs, type LogRow, type NewLog } from './device-logs.js';
import type { TokenRow } from './tokens.js';
import type { TokenEvents } from './events.js';

/**
 * The device unbind (DESIGN §3, §4.3): every check, then binding + shares removed, quota consumed,
 * token use and log written, all in one transaction. Refusals are answered 200 with a reason and logged.
 */
interface DeviceRow {
  dev_id: string;
  serial: string;
  pid: string;
  region: string;
  firmware: string;
  key_enc: string;
  unbind_supported: number;
  min_firmware: string | null;
  /** The product's owner: a token of the owner's needs no grant query (grants.ts: the owner is checked first). */
  owner_id: string;
}

/** What decides a checked request's answer about its token and binding, read in one statement. */
interface PlaceRow {
  /** The log row of the answer already decided for this devId and token, if one was. */
  decided_log: number | null;
  used: number;
  bound: number;
}

export interface UnbindOutcome extends DeviceUnbindResponse {
  /** The row of the decision: a new one, or for a replayed answer the one that decided it. */
  log: LogRow;
}

/** What the device is answered on the wire (DESIGN §4.3). */
export function toWireAnswer(o: UnbindOutcome): DeviceUnbindResponse {
  return { result: o.result, ...(o.reason ? { reason: o.reason } : {}), ...(o.replayed ? { replayed: true } : {}) };
}

export interface UnbindService {
  unbind(req: DeviceUnbindRequest): UnbindOutcome;
  /**
   * Several device requests in one write transaction (group commit): each is decided exactly as alone,
   * in order, but the commit, the costly part, is paid once. Should one throw, the batch is rolled back
   * and each request is decided alone, so no request is lost or decided twice.
   */
  unbindMany(reqs: readonly DeviceUnbindRequest[]): Array<UnbindOutcome | Error>;
}

/** Decrypted device keys the unbind service keeps: a few hundred bytes each, well under a megabyte in all. */
export const DEVICE_KEY_CACHE_SIZE = 4096;

/** A least-recently-used map of at most `capacity` keys (a Map keeps insertion order: the first is the oldest). */
export interface KeyCache {
  get(devId: string, open: () => string): string;
  readonly size: number;
}

export function createKeyCache(capacity: number): KeyCache {
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`key cache capacity must be a positive integer, not ${capacity}`);
  const keys = new Map<string, string>();
  return {
    get(devId, open) {
      const hit = keys.get(devId);
      if (hit !== undefined) {
        keys.delete(devId);
        keys.set(devId, hit);
        return hit;
      }
      const key = open();
      keys.set(devId, key);
      if (keys.size > capacity) keys.delete(keys.keys().next().value!);
      return key;
    },
    get size() {
      return keys.size;
    },
  };
}

/** The decision, and whether the token was used up by it: judged per request, not after the group. */
interface Decided {
  /** The row of the decision: a new one, or for a replayed answer the one that decided it. */
  log: LogRow;
  replayed?: true;
  exhausted: boolean;
}

export function createUnbindService(deps: {
  db: Database;
  box: SecretBox;
  quota: QuotaLedger;
  grants: GrantResolver;
  logs: DeviceLogs;
  events: TokenEvents;
  clock: () => number;
  /** Decrypted device keys kept at most (default DEVICE_KEY_CACHE_SIZE). */
  keyCacheSize?: number;
}): UnbindService {
  const { db, box, quota, grants, logs, events, clock } = deps;
  const q = {
    device: db.prepare<[string], DeviceRow>(
      `SELECT d.dev_id, d.serial, d.pid, d.region, d.firmware, d.key_enc, p.unbind_supported, p.min_firmware, p.owner_id
         FROM devices d JOIN products p ON p.pid = d.pid WHERE d.dev_id = ?`,
    ),
    nonce: db.prepare('INSERT OR IGNORE INTO device_nonces (dev_id, nonce, seen_at) VALUES (?, ?, ?)'),
    token: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?'),
    // The decided answer, the token use and the binding: three primary-key lookups, one statement.
    place: db.prepare<[string, string, string, string, string], PlaceRow>(
      `SELECT (SELECT log_id FROM decided_answers WHERE token_id = ? AND dev_id = ?) AS decided_log,
              EXISTS (SELECT 1 FROM token_uses WHERE token_id = ? AND dev_id = ?) AS used,
              EXISTS (SELECT 1 FROM bindings WHERE dev_id = ?) AS bound`,
    ),
    useToken: db.prepare('INSERT INTO token_uses (token_id, dev_id) VALUES (?, ?)'),
    bumpToken: db.prepare('UPDATE tokens SET used = used + 1 WHERE id = ?'),
    dropShares: db.prepare('DELETE FROM shares WHERE dev_id = ?'),
    dropBinding: db.prepare('DELETE FROM bindings WHERE dev_id = ?'),
    keepDecision: db.prepare('INSERT INTO decided_answers (token_id, dev_id, result, log_id, decided_at) VALUES (?, ?, ?, ?, ?)'),
    logRow: db.prepare<[number], LogRow>('SELECT * FROM device_logs WHERE id = ?'),
  };
  // Device keys never change; decrypting one per request would dominate the hot path of a device that
  // asks again (retries, forged requests for one device). Bounded: a fleet of a million devices must not
  // keep a million plaintext keys in memory, so the least recently used key makes room.
  const keys = createKeyCache(deps.keyCacheSize ?? DEVICE_KEY_CACHE_SIZE);
  const keyOf = (d: DeviceRow): string => keys.get(d.dev_id, () => box.open(d.key_enc));

  /**
   * Runs inside the caller's write transaction (one request alone, or a group): the new decision's log
   * row, or `{replayed}` with the row of the decision already made for this devId and token.
   */
  const judge = (req: DeviceUnbindRequest, dev: DeviceRow | undefined, now: number): Decided => {
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
      method: req.method ?? 'token',
    };
    // `exhausted`: the token row as read in this transaction, so as it stands after this decision (a refusal
    // leaves it as it was; spend below adds the one place it takes).
    const done = (result: UnbindResult, reason: FailureCode | null, token?: TokenRow): Decided => ({
      log: logs.append(
        token
          ? { ...base, result, reason, operator_id: token.account_id, token_id: token.id, channel: token.channel, batch_ref: token.batch_ref }
          : { ...base, result, reason },
      ),
      exhausted: !!token && token.used >= token.capacity,
    });

    // Nobody may read a row about a device no product owns, and anyone can send these: answer, keep nothing.
    if (!dev) return { log: { id: 0, ...base, result: 'FAILED', reason: 'DEVICE_UNKNOWN', count: 1, last_at: now }, exhausted: false };
    if (!signaturesEqual(signDeviceRequest(keyOf(dev), req.devId, req.token, req.ts, req.nonce, req.method), req.sig)) return done('FAILED', 'DEVICE_AUTH');
    // Only a correctly signed request burns its nonce: a forger cannot block a device's future nonces.
    if (Math.abs(now - req.ts) > CLOCK_SKEW_MS) return done('FAILED', 'REPLAY');
    if (q.nonce.run(req.devId, req.nonce, now).changes === 0) return done('FAILED', 'REPLAY');

    const parsed = parseToken(req.token);
    const token = parsed.ok ? q.token.get(parsed.value.id) : undefined;
    if (!parsed.ok || !token || !signaturesEqual(sha256Hex(parsed.value.secret), token.secret_hash)) return done('FAILED', 'TOKEN_INVALID');
    if (token.region !== dev.region || parsed.value.region !== token.region) return done('FAILED', 'REGION_MISMATCH', token);
    // Only a request that is the device's own (signature, fresh ts, new nonce) and holds the genuine token gets
    // this far: a forger never learns a decided answer, and a replay changes nothing but the nonce it burns.
    // Nothing below writes a binding before `place.bound` is read again for the answer.
    const place = q.place.get(token.id, dev.dev_id, token.id, dev.dev_id, dev.dev_id)!;
    // A retry that lost its answer, even past expiry or once the token is used up, is told what was decided;
    // a device bound again since then is making a different use of its spent place.
    if (place.decided_log !== null && !place.bound) return { log: q.logRow.get(place.decided_log)!, replayed: true, exhausted: token.used >= token.capacity };
    if (place.decided_log !== null || place.used) return done('FAILED', 'TOKEN_REUSED', token);
    if (now >= token.expires_at) return done('FAILED', 'TOKEN_EXPIRED', token);
    if (token.used >= token.capacity) return done('FAILED', 'TOKEN_EXHAUSTED', token);
    if (!dev.unbind_supported) return done('FAILED', 'UNSUPPORTED_PRODUCT', token);
    if (dev.min_firmware && compareFirmware(dev.firmware, dev.min_firmware) < 0) return done('FAILED', 'FIRMWARE_UNSUPPORTED', token);
    // Evaluated now, not at issue time: a revoked grant stops tokens already issued.
    // The owner's own token needs no query: grantOf answers `owner` first, whatever else the account holds.
    if (token.account_id !== dev.owner_id && !grants.grantFor(token.account_id, dev.pid)) return done('FAILED', 'UNAUTHORIZED', token);

    // The place is spent and the decision kept in the same transaction: no commit has one without the other.
    const spend = (result: 'UNBOUND' | 'NOT_BOUND'): Decided => {
      q.useToken.run(token.id, dev.dev_id);
      q.bumpToken.run(token.id);
      const { log } = done(result, null, token);
      q.keepDecision.run(token.id, dev.dev_id, result, log.id, now);
      return { log, exhausted: token.used + 1 >= token.capacity };
    };
    if (!place.bound) return spend('NOT_BOUND');
    const paid = quota.tryConsume(token.account_id, dev.pid, now);
    if (!paid.ok) return done('FAILED', paid.reason, token);
    q.dropShares.run(dev.dev_id);
    q.dropBinding.run(dev.dev_id);
    return spend('UNBOUND');
  };
  const decideOne = (req: DeviceUnbindRequest, now: number): Decided => judge(req, q.device.get(req.devId), now);
  const decideAlone = db.transaction((req: DeviceUnbindRequest): Decided => decideOne(req, clock()));
  const decideMany = db.transaction((reqs: readonly DeviceUnbindRequest[]): Decided[] => reqs.map((req) => decideOne(req, clock())));

  // Results go out only after the commit: a watcher never sees an unbind that could still roll back.
  // A replayed answer is no new result: watchers had the decision when it was made (or read it from the log).
  function announce({ log, replayed, exhausted }: Decided): UnbindOutcome {
    if (replayed) return { result: log.result, replayed, log };
    if (log.token_id) events.publish(log.token_id, toDeviceResult(log), exhausted);
    return { result: log.result, ...(log.reason ? { reason: log.reason } : {}), log };
  }
  const unbindOne = (req: DeviceUnbindRequest): UnbindOutcome => announce(decideAlone.immediate(req));
  /** One request alone; a throw is that request's own answer, not its neighbours'. */
  const tryOne = (req: DeviceUnbindRequest): UnbindOutcome | Error => {
    try {
      return unbindOne(req);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };

  return {
    unbind: unbindOne,
    unbindMany(reqs) {
      if (reqs.length === 1) return [tryOne(reqs[0]!)];
      let decided: Decided[];
      try {
        decided = decideMany.immediate(reqs);
      } catch {
        // The whole group rolled back: each request is decided again alone.
        return reqs.map(tryOne);
      }
      return decided.map(announce);
    },
  };
}
