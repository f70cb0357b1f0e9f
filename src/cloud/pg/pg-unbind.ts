import type { Pool } from 'pg';
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
 * in the same order as src/cloud/unbind.ts, and the same writes, in one READ COMMITTED transaction. Here: the
 * device row, its signature (the key is sealed under the master key, which only the node holds) and the
 * clock; the rest is one server-side call, so no lock is held across a network round trip. Group commit:
 * the requests a node has in flight are decided in one call of `unbind_decide_many`
 * (migrations/0008-unbind-decide-many.ts) — one round trip, one transaction, one commit (one WAL flush
 * when the server is durable) for many decisions, each request its own answer. Every answer is told only
 * after its group's COMMIT returned: nothing here relies on synchronous_commit being off. A group whose
 * call raised in PostgreSQL (so rolled back) is decided again one request at a time by `unbind_decide`
 * (0002/0004/0007); after a lost connection its requests are refused (the device asks again and is told
 * the decided answer, if there was one).
 *
 * Why READ COMMITTED is exact here: every row whose value decides the answer and that another node may
 * change meanwhile is either locked before it is read, by a statement that starts after the lock (the token:
 * FOR NO KEY UPDATE, then its uses; the binding: FOR UPDATE), or changed by a conditional update that
 * PostgreSQL re-checks on the newest committed version (quota `used < limit`, token `used < capacity`),
 * or guarded by a unique index (nonce, token use). Grants and product flags are read unlocked: a revoke
 * that commits meanwhile is ordered before or after this unbind, as on SQLite. SERIALIZABLE would give the
 * same answers but abort most of a burst (every unbind of one account writes the same quota row) and need
 * retries; READ COMMITTED waits instead. One group locks many rows, always in one global order, each class
 * sorted: nonces by (device, nonce), tokens by id, bindings by device, quota rows account before product
 * and by key, folded failure rows by device; `unbind_decide` takes one row of each class in the same order.
 * Two nodes therefore never wait for each other in a cycle (no deadlock), whatever their groups hold.
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

interface CachedDevice extends DeviceRow {
  key: string;
  productRefusal: FailureCode | null;
}

export interface PgUnbindOutcome {
  result: UnbindResult;
  reason?: FailureCode;
  /** The answer decided before for this devId and token, told again (no new row, no new event). */
  replayed?: true;
  /** The row of the decision: a new one, or for a replayed answer the one that decided it. */
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
  /** Device rows a node keeps (default 100,000). */
  maxCachedDevices?: number;
  /** Groups a node has in flight at once (default 1: one account's unbinds queue on its quota row anyway); the requests arriving meanwhile wait for the next. */
  maxInFlight?: number;
  /** Requests decided in one call at most (default 256). */
  maxGroup?: number;
  /**
   * After a group is answered, how long the next one waits at most for the requests of the devices just
   * answered to come back and join it (default 5 ms); it goes as soon as they are all there. See `checkArrived`.
   */
  lingerMs?: number;
}

export interface PgUnbindStats {
  /** Calls of unbind_decide_many. */
  groups: number;
  /** Requests decided in them. */
  grouped: number;
  /** Requests decided alone (unbind_decide) after their group's call failed and rolled back. */
  alone: number;
}

export interface PgUnbind {
  /** Joins the node's next group: every request in flight on the node is decided in one transaction. */
  unbind(req: DeviceUnbindRequest): Promise<PgUnbindOutcome>;
  stats(): PgUnbindStats;
}

// Refusals decided before the transaction (bad signature, clock skew) name no token: they fold (migration 0003).
const APPEND_LOG_SQL = 'SELECT * FROM device_log_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $1, $12)';
const logParams = (r: NewLog): unknown[] => [r.at, r.dev_id, r.serial, r.pid, r.region, r.operator_id, r.token_id, r.channel, r.batch_ref, r.result, r.reason, r.method];

// One round trip, autocommitted: the transaction is the function call (migrations/0002-unbind-decide.ts).
// The method of its log row (§4.8) rides in the transaction-local `unbind.method`, set by the first argument
// before the function runs (migrations/0007-device-log-method.ts).
const DECIDE_SQL =
  "SELECT * FROM unbind_decide(CASE WHEN set_config('unbind.method', $14, true) IS NOT NULL THEN $1 END, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

// The group: one round trip, one transaction, one commit (migrations/0008-unbind-decide-many.ts).
const DECIDE_MANY_SQL = 'SELECT * FROM unbind_decide_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)';
const DEVICES_SQL = `SELECT d.dev_id, d.serial, d.pid, d.region, d.firmware, d.key_enc, p.unbind_supported, p.min_firmware
  FROM devices d JOIN products p ON p.pid = d.pid WHERE d.dev_id = ANY($1::text[])`;

/** SQLSTATE classes after which PostgreSQL may have committed, or the connection is gone: no request is decided again. */
const maybeCommitted = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  return typeof code !== 'string' || code.length !== 5 || code.startsWith('08') || code.startsWith('57') || code.startsWith('XX') || code.startsWith('53');
};

interface Pending {
  req: DeviceUnbindRequest;
  resolve: (o: PgUnbindOutcome) => void;
  reject: (err: unknown) => void;
}

interface Decision {
  o_log_id: number;
  o_result: UnbindResult;
  o_reason: FailureCode | null;
  o_operator_id: string | null;
  o_token_id: string | null;
  o_channel: TokenRow['channel'] | null;
  o_batch_ref: string | null;
  o_exhausted: boolean;
  /** The log row's first request, count and last request (a token-less failure may have folded). */
  o_at: number;
  o_count: number;
  o_last_at: number;
  o_replayed: boolean;
}

/** A request whose signature and clock the node checked: the rest is decided in PostgreSQL. */
interface Checked {
  p: Pending;
  dev: CachedDevice;
}

interface GroupDecision extends Decision {
  o_idx: number;
}

export function createPgUnbind(o: PgUnbindOptions): PgUnbind {
  const { pool, box } = o;
  const clock = o.clock ?? Date.now;
  const maxCachedDevices = o.maxCachedDevices ?? 100_000;
  const maxInFlight = o.maxInFlight ?? 1;
  const maxGroup = o.maxGroup ?? 256;
  const lingerMs = o.lingerMs ?? 5;
  const stats: PgUnbindStats = { groups: 0, grouped: 0, alone: 0 };
  const limits = { account: o.accountLimit ?? DEFAULT_DAILY_LIMIT, product: o.productLimit ?? DEFAULT_DAILY_LIMIT };
  // A device row (and its product's flags) is never changed once written — no statement of the authority
  // updates devices or products — so a known device is read once per node, its key opened once: an unbind
  // is then one round trip. Bounded: the least recently used gives way. An unknown device is never cached
  // (another node may add it). A future statement changing a device or product must evict it here.
  const devices = new Map<string, CachedDevice>();
  const remember = (row: DeviceRow): CachedDevice => {
    const productRefusal: FailureCode | null = !row.unbind_supported
      ? 'UNSUPPORTED_PRODUCT'
      : row.min_firmware && compareFirmware(row.firmware, row.min_firmware) < 0
        ? 'FIRMWARE_UNSUPPORTED'
        : null;
    const d: CachedDevice = { ...row, key: box.open(row.key_enc), productRefusal };
    devices.set(row.dev_id, d);
    if (devices.size > maxCachedDevices) devices.delete(devices.keys().next().value as string);
    return d;
  };
  const cachedDevice = (devId: string): CachedDevice | undefined => {
    const hit = devices.get(devId);
    if (hit) {
      devices.delete(devId);
      devices.set(devId, hit);
    }
    return hit;
  };
  /** The group's devices: the ones this node does not know yet read in one round trip. */
  const devicesOf = async (devIds: string[]): Promise<Map<string, CachedDevice>> => {
    const out = new Map<string, CachedDevice>();
    const missing: string[] = [];
    for (const id of devIds) {
      const hit = cachedDevice(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const rows = (await pool.query<DeviceRow>({ name: 'unbind-devices', text: DEVICES_SQL, values: [[...new Set(missing)]] })).rows;
      for (const row of rows) out.set(row.dev_id, remember(row));
    }
    return out;
  };
  let cached: DayWindow = { day: '', startsAt: 0, endsAt: 0 };
  const dayOf = (now: number): string => {
    if (now < cached.startsAt || now >= cached.endsAt) cached = dayWindow(now, o.timeZone);
    return cached.day;
  };

  async function append(c: Pool, row: NewLog): Promise<LogRow> {
    return (await c.query<LogRow>({ name: 'unbind-append-log', text: APPEND_LOG_SQL, values: logParams(row) })).rows[0]!;
  }

  const baseOf = (req: DeviceUnbindRequest, dev: CachedDevice | undefined, now: number): NewLog => ({
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
  });
  const outcomeOf = (base: NewLog, d: Decision): PgUnbindOutcome => {
    const log: LogRow = {
      id: d.o_log_id,
      ...base,
      at: d.o_at,
      count: d.o_count,
      last_at: d.o_last_at,
      operator_id: d.o_operator_id,
      token_id: d.o_token_id,
      channel: d.o_channel,
      batch_ref: d.o_batch_ref,
      result: d.o_result,
      reason: d.o_reason,
    };
    if (d.o_replayed) return { result: d.o_result, replayed: true, log, exhausted: d.o_exhausted };
    return { result: d.o_result, ...(d.o_reason ? { reason: d.o_reason } : {}), log, exhausted: d.o_exhausted };
  };
  const tokenArgs = (req: DeviceUnbindRequest): [string | null, string | null, string | null] => {
    const parsed = parseToken(req.token);
    return parsed.ok ? [parsed.value.id, parsed.value.region, sha256Hex(parsed.value.secret)] : [null, null, null];
  };

  /** One request alone, its own transaction (unbind_decide): after its group's call rolled back. */
  async function decideAlone(req: DeviceUnbindRequest, dev: CachedDevice, now: number): Promise<PgUnbindOutcome> {
    stats.alone++;
    const d = (
      await pool.query<Decision>({
        name: 'unbind-decide',
        text: DECIDE_SQL,
        values: [req.devId, req.nonce, now, dev.serial, dev.pid, dev.region, ...tokenArgs(req), dev.productRefusal, dayOf(now), limits.account, limits.product, req.method ?? 'token'],
      })
    ).rows[0]!;
    return outcomeOf(baseOf(req, dev, now), d);
  }

  /**
   * Two steps per group. The checks only the node can make (the device's key, the clock): the devices the
   * node does not know yet read in one round trip. Then the rest of every checked request in one call of
   * unbind_decide_many. What arrives meanwhile waits for the next group, so under load a group holds about
   * every request in flight on the node.
   */
  async function check(arrived: Pending[]): Promise<void> {
    const now = clock();
    let devs: Map<string, CachedDevice>;
    try {
      devs = await devicesOf(arrived.map((p) => p.req.devId));
    } catch (err) {
      for (const p of arrived) p.reject(err);
      return;
    }
    for (const p of arrived) {
      const { req } = p;
      const dev = devs.get(req.devId);
      const base = baseOf(req, dev, now);
      // Nobody may read a row about a device no product owns, and anyone can send these: answer, keep nothing.
      if (!dev) p.resolve({ result: 'FAILED', reason: 'DEVICE_UNKNOWN', log: { id: 0, ...base, reason: 'DEVICE_UNKNOWN', count: 1, last_at: now }, exhausted: false });
      else if (!signaturesEqual(signDeviceRequest(dev.key, req.devId, req.token, req.ts, req.nonce, req.method), req.sig)) {
        append(pool, { ...base, reason: 'DEVICE_AUTH' }).then((log) => p.resolve({ result: 'FAILED', reason: 'DEVICE_AUTH', log, exhausted: false }), p.reject);
      } else if (Math.abs(now - req.ts) > CLOCK_SKEW_MS) {
        append(pool, { ...base, reason: 'REPLAY' }).then((log) => p.resolve({ result: 'FAILED', reason: 'REPLAY', log, exhausted: false }), p.reject);
      } else ready.push({ p, dev });
    }
    decideReady();
  }

  /** Answers the group; resolves to how many requests the next group waits for (see `checkArrived`), 0 for none. */
  async function decideGroup(asked: Checked[]): Promise<number> {
    const now = clock();
    const cols: unknown[][] = Array.from({ length: 10 }, () => []);
    for (const { p, dev } of asked) {
      const [tokenId, tokenRegion, secretHash] = tokenArgs(p.req);
      const row = [p.req.devId, p.req.nonce, dev.serial, dev.pid, dev.region, tokenId, tokenRegion, secretHash, dev.productRefusal, p.req.method ?? 'token'];
      row.forEach((v, i) => cols[i]!.push(v));
    }
    let rows: GroupDecision[];
    try {
      rows = (
        await pool.query<GroupDecision>({
          name: 'unbind-decide-many',
          text: DECIDE_MANY_SQL,
          values: [...cols, now, dayOf(now), limits.account, limits.product],
        })
      ).rows;
    } catch (err) {
      // The call raised inside PostgreSQL (a deadlock with a process outside this order, a bug): it rolled back,
      // nothing of it holds, each request is decided again alone. After a lost connection nobody knows: refused.
      if (maybeCommitted(err)) for (const { p } of asked) p.reject(err);
      else for (const { p, dev } of asked) decideAlone(p.req, dev, now).then(p.resolve, p.reject);
      return 0;
    }
    stats.groups++;
    stats.grouped += asked.length;
    const byIdx = new Map(rows.map((r) => [r.o_idx, r]));
    // Counted before the answers go out: a caller answered in-process may ask again before the group's promise settles.
    const waitFor = lingerMs > 0 ? Math.min(maxGroup, arrived.length + asked.length) : 0;
    asked.forEach(({ p, dev }, i) => {
      const d = byIdx.get(i + 1);
      if (d) p.resolve(outcomeOf(baseOf(p.req, dev, now), d));
      else p.reject(new Error(`unbind_decide_many gave no answer for request ${i + 1}`));
    });
    return waitFor;
  }

  let arrived: Pending[] = [];
  const ready: Checked[] = [];
  let inFlight = 0;
  function decideReady(): void {
    while (inFlight < maxInFlight && ready.length > 0) {
      const group = ready.splice(0, maxGroup);
      inFlight++;
      void decideGroup(group)
        .catch((err: unknown) => {
          for (const { p } of group) p.reject(err);
          return 0;
        })
        .then((waitFor) => {
          inFlight--;
          // The next group waits for the callers just answered: those that ask again soon (closed-loop clients, a
          // station's next device) join the requests that arrived meanwhile instead of forming a group of their own.
          if (waitFor > 0 && inFlight === 0) linger(waitFor);
          decideReady();
          checkArrived();
        });
    }
  }

  // One round trip at a time per node (default): a device read, then the call deciding what it checked; the
  // requests arriving meanwhile are read and decided together after it (fewer, larger groups: less work per unbind).
  let checking = false;
  let checkQueued = false;
  // Group commit as a node sees it over HTTP: the callers of a group are answered together, but their next requests
  // come back one by one over their own connections, some before the next group leaves and some after. Sent at
  // once, the next group holds only the first of them, the rest make a group of their own meanwhile, and the
  // node settles into several small groups per round (more transactions, more work per unbind in the node and in
  // PostgreSQL). So after a group is answered the next one waits until as many requests arrived as were answered
  // plus those that waited already (`waitFor`), at most `lingerMs` after the answers went out. A caller alone never
  // waits (one answered, one back), nor does a request arriving after the wait, nothing in flight.
  let waitFor = 0;
  let lingerTimer: NodeJS.Timeout | null = null;
  function linger(n: number): void {
    waitFor = n;
    if (lingerTimer) clearTimeout(lingerTimer);
    lingerTimer = setTimeout(() => {
      lingerTimer = null;
      waitFor = 0;
      checkArrived();
    }, lingerMs);
  }
  function checkArrived(): void {
    checkQueued = false;
    if (checking || inFlight >= maxInFlight || arrived.length === 0) return;
    if (arrived.length < waitFor) return; // until they are there, or the timer ends the wait
    waitFor = 0;
    if (lingerTimer) {
      clearTimeout(lingerTimer);
      lingerTimer = null;
    }
    const group = arrived;
    arrived = [];
    checking = true;
    void check(group).finally(() => {
      checking = false;
      checkArrived();
    });
  }

  return {
    unbind(req) {
      return new Promise<PgUnbindOutcome>((resolve, reject) => {
        arrived.push({ req, resolve, reject });
        // Every request of this turn (a batch from the HTTP layer, a burst of callers) is checked together.
        if (!checkQueued && !checking) {
          checkQueued = true;
          queueMicrotask(checkArrived);
        }
      });
    },
    stats: () => ({ ...stats }),
  };
}
