import type { Pool, PoolClient } from 'pg';
import { randomUrlSafe, signaturesEqual, type DeviceResult, type ProductView, type RoleView } from '../../protocol/index.js';
import { DEFAULT_DAILY_LIMIT, type QuotaCounter, type QuotaScope } from '../../quota/quota-ledger.js';
import { dayWindow, type DayWindow } from '../../quota/day-window.js';
import type { AccountRecord } from '../accounts.js';
import { builtInRoles, spaceIdOf } from '../authorizations.js';
import { decodeCursor, encodeCursor, toDeviceResult, toView as toLogView, type LogRow, type NewLog } from '../device-logs.js';
import { AuthorityError } from '../errors.js';
import { grantOf, seesAllOperations, type GrantRow } from '../grants.js';
import { NONCE_MEMORY_MS } from '../nonce-memory.js';
import { toView as toTicketView, type TicketRow } from '../quota-tickets.js';
import { MAX_SHARE_RECEIVERS_PER_CHANNEL, MAX_SHARING_ACCOUNTS_PER_RECEIVER } from '../registry.js';
import type { SecretBox } from '../secret-box.js';
import type { AuthorityStore } from '../store.js';
import { DEFAULT_TOKEN_TTL_SECONDS, issuedView, requestHash, tokenStatus, type TokenRow } from '../tokens.js';
import type { UnbindOutcome } from '../unbind.js';
import { generateToken, sha256Hex } from '../../protocol/index.js';
import { createPgCases } from './pg-cases.js';
import { inTransaction } from './pg-pool.js';
import { createPgTokenFeed, type PgTokenFeed } from './pg-token-feed.js';
import { createPgUnbind } from './pg-unbind.js';

/**
 * The authority's store on PostgreSQL (issue 10, DESIGN §9): the same interface as SQLite's, served by
 * several stateless nodes on one database. Every write that decides something another node may race is
 * one statement that re-checks on the newest row (`… WHERE status = 'pending'`, `ON CONFLICT DO NOTHING`)
 * or one transaction with the rows it depends on locked; READ COMMITTED throughout (see pg-unbind.ts).
 * Secrets are sealed under the node's master key before they reach the database, as on SQLite.
 */
export interface PgStoreOptions {
  pool: Pool;
  /** For the token feed's LISTEN connection. */
  url: string;
  box: SecretBox;
  timeZone: string;
  clock?: () => number;
  accountLimit?: number;
  productLimit?: number;
  onError?: (err: Error) => void;
}

export interface PgStore extends AuthorityStore {
  feed: PgTokenFeed;
}

const GRANT_SELECT = `
  SELECT p.pid, p.name, p.category, p.owner_id, o.name AS owner_name, p.unbind_supported, p.min_firmware, p.serial_format, p.oem_source_id,
    EXISTS (SELECT 1 FROM partner_grants g WHERE g.pid = p.pid AND g.account_id = $1 AND g.revoked_at IS NULL) AS partner,
    (SELECT r.name FROM spaces s
       JOIN space_members m ON m.space_id = s.id
       JOIN roles r ON r.id = m.role_id
      WHERE s.owner_id = p.owner_id AND m.account_id = $1 AND r.can_unbind
        AND (r.all_products OR EXISTS (SELECT 1 FROM role_products rp WHERE rp.role_id = r.id AND rp.pid = p.pid)) LIMIT 1) AS role
  FROM products p JOIN accounts o ON o.id = p.owner_id`;

// A ticket as its view shows it: with the requester's and the product's names (as the SQLite service reads it).
const TICKET_SELECT = `SELECT t.*, a.name AS requester_name, p.name AS product_name, p.owner_id
  FROM quota_tickets t JOIN products p ON p.pid = t.pid JOIN accounts a ON a.id = t.requester_id`;

type Q = Pick<Pool, 'query'> | PoolClient;

export function createPgStore(o: PgStoreOptions): PgStore {
  const { pool, box } = o;
  const clock = o.clock ?? Date.now;
  const onError = o.onError ?? (() => {});
  const defaults: Record<QuotaScope, number> = { account: o.accountLimit ?? DEFAULT_DAILY_LIMIT, product: o.productLimit ?? DEFAULT_DAILY_LIMIT };
  let cachedDay: DayWindow = { day: '', startsAt: 0, endsAt: 0 };
  const windowAt = (now: number): DayWindow => {
    if (now < cachedDay.startsAt || now >= cachedDay.endsAt) cachedDay = dayWindow(now, o.timeZone);
    return cachedDay;
  };
  const feed = createPgTokenFeed({ pool, url: o.url, onError });
  const decider = createPgUnbind({
    pool,
    box,
    timeZone: o.timeZone,
    clock,
    ...(o.accountLimit !== undefined ? { accountLimit: o.accountLimit } : {}),
    ...(o.productLimit !== undefined ? { productLimit: o.productLimit } : {}),
  });
  const one = async <T extends object>(q: Q, text: string, values: unknown[] = []): Promise<T | undefined> => (await q.query<T>(text, values)).rows[0];
  const all = async <T extends object>(q: Q, text: string, values: unknown[] = []): Promise<T[]> => (await q.query<T>(text, values)).rows;

  // ---- accounts: secrets never change once made, so a node keeps what it opened ----
  const accountCache = new Map<string, AccountRecord>();

  // ---- grants ----
  const grantFor = async (q: Q, accountId: string, pid: string) => {
    const row = await one<GrantRow>(q, `${GRANT_SELECT} WHERE p.pid = $2`, [accountId, pid]);
    return row ? grantOf(row, accountId) : null;
  };
  const unbindableProducts = async (accountId: string): Promise<ProductView[]> => {
    const out: ProductView[] = [];
    for (const row of await all<GrantRow>(pool, `${GRANT_SELECT} ORDER BY p.pid`, [accountId])) {
      const g = grantOf(row, accountId);
      if (!g) continue;
      out.push({
        pid: row.pid,
        name: row.name,
        category: row.category,
        owner: { accountId: row.owner_id, name: row.owner_name },
        unbindSupported: !!row.unbind_supported,
        minFirmware: row.min_firmware,
        serialFormat: row.serial_format,
        grant: g.kind,
        ...(g.role ? { role: g.role } : {}),
      });
    }
    return out;
  };

  // ---- authorizations ----
  const requireOwnProduct = async (q: Q, ownerId: string, pid: string): Promise<void> => {
    const p = await one<{ owner_id: string }>(q, 'SELECT owner_id FROM products WHERE pid = $1', [pid]);
    if (!p) throw new AuthorityError(404, 'PRODUCT_UNKNOWN', `no product ${pid}`);
    if (p.owner_id !== ownerId) throw new AuthorityError(403, 'NOT_OWNER', `only the owner of ${pid} may change who unbinds it`);
  };
  const requireAccount = async (q: Q, accountId: string): Promise<void> => {
    if (!(await one(q, 'SELECT id FROM accounts WHERE id = $1', [accountId]))) throw new AuthorityError(404, 'ACCOUNT_UNKNOWN', `no account ${accountId}`);
  };
  /** Two nodes creating one space at once: the second insert does nothing, both go on with it. */
  const ensureSpace = async (q: Q, ownerId: string): Promise<string> => {
    const id = spaceIdOf(ownerId);
    const made = await q.query('INSERT INTO spaces (id, owner_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, ownerId]);
    if (made.rowCount === 1) {
      for (const r of builtInRoles(id)) {
        await q.query('INSERT INTO roles (id, space_id, name, kind, can_unbind, all_products) VALUES ($1, $2, $3, $4, $5, $6)', [r.roleId, id, r.name, r.kind, r.canUnbind, r.allProducts]);
      }
      return id;
    }
    return (await one<{ id: string }>(q, 'SELECT id FROM spaces WHERE owner_id = $1', [ownerId]))!.id;
  };
  const roleViews = async (q: Q, spaceId: string): Promise<RoleView[]> =>
    (
      await all<{ id: string; name: string; kind: RoleView['kind']; can_unbind: boolean; all_products: boolean; pids: string[] }>(
        q,
        `SELECT r.id, r.name, r.kind, r.can_unbind, r.all_products,
                ARRAY(SELECT pid FROM role_products WHERE role_id = r.id ORDER BY pid) AS pids
           FROM roles r WHERE r.space_id = $1 ORDER BY r.id`,
        [spaceId],
      )
    ).map((r) => ({ roleId: r.id, name: r.name, kind: r.kind, canUnbind: r.can_unbind, allProducts: r.all_products, pids: r.pids }));
  const view = async (ownerId: string) => {
    const spaceId = (await one<{ id: string }>(pool, 'SELECT id FROM spaces WHERE owner_id = $1', [ownerId]))?.id;
    const partners = await all<{ pid: string; account_id: string; granted_at: number }>(
      pool,
      `SELECT g.pid, g.account_id, g.granted_at FROM partner_grants g JOIN products p ON p.pid = g.pid
        WHERE p.owner_id = $1 AND g.revoked_at IS NULL ORDER BY g.pid, g.account_id`,
      [ownerId],
    );
    const members = spaceId
      ? await all<{ account_id: string; role_id: string; since: number }>(pool, 'SELECT account_id, role_id, since FROM space_members WHERE space_id = $1 ORDER BY account_id', [spaceId])
      : [];
    return {
      partners: partners.map((g) => ({ pid: g.pid, accountId: g.account_id, grantedAt: new Date(g.granted_at).toISOString() })),
      roles: spaceId ? await roleViews(pool, spaceId) : builtInRoles(spaceIdOf(ownerId)),
      members: members.map((m) => ({ accountId: m.account_id, roleId: m.role_id, since: new Date(m.since).toISOString() })),
    };
  };

  // ---- quota ----
  const limitFor = async (scope: QuotaScope, key: string, day: string): Promise<number> => {
    const r = await one<{ lim: number | null }>(
      pool,
      scope === 'account'
        ? `SELECT MAX(limit_value) AS lim FROM quota_tickets WHERE status = 'approved' AND scope = 'account' AND requester_id = $1 AND from_day <= $2 AND to_day >= $2`
        : `SELECT MAX(limit_value) AS lim FROM quota_tickets WHERE status = 'approved' AND scope = 'product' AND pid = $1 AND from_day <= $2 AND to_day >= $2`,
      [key, day],
    );
    return r?.lim == null ? defaults[scope] : Math.max(defaults[scope], r.lim);
  };
  const counter = async (scope: QuotaScope, key: string, now: number): Promise<QuotaCounter> => {
    const { day } = windowAt(now);
    const used = (await one<{ used: number }>(pool, 'SELECT used FROM quota_usage WHERE day = $1 AND scope = $2 AND key = $3', [day, scope, key]))?.used ?? 0;
    const limit = await limitFor(scope, key, day);
    return { used, limit, remaining: Math.max(0, limit - used) };
  };

  // ---- device logs ----
  const APPEND = 'SELECT * FROM device_log_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)';
  const appendCounted = async (row: NewLog, count: number, lastAt: number): Promise<LogRow> =>
    (await one<LogRow>(pool, APPEND, [row.at, row.dev_id, row.serial, row.pid, row.region, row.operator_id, row.token_id, row.channel, row.batch_ref, row.result, row.reason, count, lastAt, row.method]))!;
  const forToken = async (tokenId: string, afterSeq = 0): Promise<LogRow[]> =>
    all<LogRow>(pool, 'SELECT * FROM device_logs WHERE token_id = $1 AND id > $2 ORDER BY id', [tokenId, afterSeq]);

  // ---- tokens ----
  const tokenRow = async (q: Q, id: string): Promise<TokenRow | undefined> => one<TokenRow>(q, 'SELECT * FROM tokens WHERE id = $1', [id]);
  const issue = async (q: Q, accountId: string, region: string, req: Parameters<AuthorityStore['tokens']['issue']>[2], now: number) => {
    const expiresAt = now + (req.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) * 1000;
    for (let attempt = 0; attempt < 5; attempt++) {
      const t = generateToken(region);
      // 48-bit ids: a collision is rare, but must not overwrite (on any node).
      const r = await q.query(
        `INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, batch_ref, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
        [t.id, sha256Hex(t.secret), accountId, region, req.capacity, req.channel, req.batchRef ?? null, now, expiresAt],
      );
      if (r.rowCount !== 1) continue;
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
  };

  // ---- unbind: the requests in flight on this node are decided in one group (pg-unbind.ts) ----
  const unbindOne = async (req: Parameters<AuthorityStore['unbind']['unbind']>[0]): Promise<UnbindOutcome> => {
    const out = await decider.unbind(req);
    // A wake-up only: followers read the shared log by sequence, this node's own followers too.
    if (!out.replayed && out.log.token_id) feed.committed(out.log.token_id);
    const { exhausted: _e, ...outcome } = out;
    return outcome;
  };

  const store: PgStore = {
    kind: 'pg',
    clock,
    feed,
    accounts: {
      async create(a, now) {
        const clientId = a.clientId ?? randomUrlSafe(20).toLowerCase().replace(/[-_]/g, 'x');
        const secret = a.secret ?? randomUrlSafe(32);
        await pool.query('INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [a.id, a.name, a.region, clientId, box.seal(secret), now]);
        return { accountId: a.id, name: a.name, region: a.region, clientId, secret };
      },
      async byClientId(clientId) {
        const hit = accountCache.get(clientId);
        if (hit) return hit;
        const row = await one<{ id: string; name: string; region: string; client_id: string; secret_enc: string }>(
          pool,
          'SELECT id, name, region, client_id, secret_enc FROM accounts WHERE client_id = $1',
          [clientId],
        );
        if (!row) return undefined;
        const rec = { accountId: row.id, name: row.name, region: row.region, clientId: row.client_id, secret: box.open(row.secret_enc) };
        accountCache.set(clientId, rec);
        return rec;
      },
      async byId(accountId) {
        const row = await one<{ id: string; name: string; region: string; client_id: string }>(pool, 'SELECT id, name, region, client_id FROM accounts WHERE id = $1', [accountId]);
        return row && { accountId: row.id, name: row.name, region: row.region, clientId: row.client_id };
      },
      async isVerifiedInstaller(accountId) {
        const row = await one<{ verified_installer: number }>(pool, 'SELECT verified_installer FROM accounts WHERE id = $1', [accountId]);
        return row?.verified_installer === 1;
      },
      async setVerifiedInstaller(accountId, verified) {
        await pool.query('UPDATE accounts SET verified_installer = $2 WHERE id = $1', [accountId, verified ? 1 : 0]);
      },
    },
    registry: {
      async addProduct(p) {
        await pool.query('INSERT INTO products (pid, name, category, owner_id, unbind_supported, min_firmware, oem_source_id, serial_format) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          p.pid, p.name, p.category, p.ownerId, p.unbindSupported, p.minFirmware, p.oemSourceId ?? null, p.serialFormat ?? null,
        ]);
      },
      async addDevice(d) {
        await pool.query('INSERT INTO devices (dev_id, serial, pid, region, firmware, key_enc) VALUES ($1, $2, $3, $4, $5, $6)', [d.devId, d.serial, d.pid, d.region, d.firmware, box.seal(d.deviceKey)]);
      },
      async addConsumer(id, name, region) {
        await pool.query('INSERT INTO consumers (id, name, region) VALUES ($1, $2, $3)', [id, name, region]);
      },
      async bind(devId, consumerId, now) {
        await pool.query(
          'INSERT INTO bindings (dev_id, consumer_id, bound_at) VALUES ($1, $2, $3) ON CONFLICT (dev_id) DO UPDATE SET consumer_id = excluded.consumer_id, bound_at = excluded.bound_at',
          [devId, consumerId, now],
        );
      },
      async share(devId, channel, ownerId, receiverId, now) {
        await inTransaction(pool, async (c) => {
          // The binding locked: an unbind on another node waits, or has already removed it.
          const b = await one<{ consumer_id: string }>(c, 'SELECT consumer_id FROM bindings WHERE dev_id = $1 FOR UPDATE', [devId]);
          if (b?.consumer_id !== ownerId) throw new AuthorityError(409, 'NOT_BOUND_TO_OWNER', `${devId} is not bound to ${ownerId}`);
          const n = (await one<{ n: number }>(c, 'SELECT count(*)::int AS n FROM shares WHERE dev_id = $1 AND channel = $2', [devId, channel]))!.n;
          if (n >= MAX_SHARE_RECEIVERS_PER_CHANNEL) throw new AuthorityError(409, 'SHARE_LIMIT', `channel ${channel} of ${devId} is shared with ${MAX_SHARE_RECEIVERS_PER_CHANNEL} accounts already`);
          const s = (await one<{ n: number; has: boolean }>(c, 'SELECT count(DISTINCT owner_id)::int AS n, COALESCE(bool_or(owner_id = $1), false) AS has FROM shares WHERE receiver_id = $2', [ownerId, receiverId]))!;
          if (!s.has && s.n >= MAX_SHARING_ACCOUNTS_PER_RECEIVER) throw new AuthorityError(409, 'SHARE_LIMIT', `${receiverId} receives shares from ${MAX_SHARING_ACCOUNTS_PER_RECEIVER} accounts already`);
          await c.query('INSERT INTO shares (dev_id, channel, owner_id, receiver_id, shared_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [devId, channel, ownerId, receiverId, now]);
        });
      },
      bindingOf: async (devId) => (await one<{ consumer_id: string }>(pool, 'SELECT consumer_id FROM bindings WHERE dev_id = $1', [devId]))?.consumer_id,
      sharesOf: async (devId) =>
        (await all<{ channel: number; receiver_id: string }>(pool, 'SELECT channel, receiver_id FROM shares WHERE dev_id = $1 ORDER BY channel, receiver_id', [devId])).map((s) => ({
          channel: s.channel,
          receiverId: s.receiver_id,
        })),
    },
    grants: { grantFor: (accountId, pid) => grantFor(pool, accountId, pid), unbindableProducts },
    authorizations: {
      ensureSpace: (ownerId) => inTransaction(pool, (c) => ensureSpace(c, ownerId)),
      view,
      async grantPartner(ownerId, pid, accountId, now) {
        await requireOwnProduct(pool, ownerId, pid);
        await requireAccount(pool, accountId);
        if (accountId === ownerId) throw new AuthorityError(409, 'ALREADY_OWNER', 'the owner needs no partner grant');
        // The partial unique index keeps one active grant, whichever node asks first.
        await pool.query('INSERT INTO partner_grants (pid, account_id, granted_at) VALUES ($1, $2, $3) ON CONFLICT (pid, account_id) WHERE revoked_at IS NULL DO NOTHING', [pid, accountId, now]);
      },
      async revokePartner(ownerId, pid, accountId, now) {
        await requireOwnProduct(pool, ownerId, pid);
        const r = await pool.query('UPDATE partner_grants SET revoked_at = $1 WHERE pid = $2 AND account_id = $3 AND revoked_at IS NULL', [now, pid, accountId]);
        if (r.rowCount === 0) throw new AuthorityError(404, 'GRANT_UNKNOWN', `${accountId} holds no grant on ${pid}`);
      },
      createRole: (ownerId, role, kind = 'custom', id) =>
        inTransaction(pool, async (c) => {
          const spaceId = await ensureSpace(c, ownerId);
          for (const pid of role.pids) await requireOwnProduct(c, ownerId, pid);
          const roleId = id ?? `${spaceId}-r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
          await c.query('INSERT INTO roles (id, space_id, name, kind, can_unbind, all_products) VALUES ($1, $2, $3, $4, $5, $6)', [roleId, spaceId, role.name, kind, role.canUnbind, role.allProducts]);
          for (const pid of role.pids) await c.query('INSERT INTO role_products (role_id, pid) VALUES ($1, $2) ON CONFLICT DO NOTHING', [roleId, pid]);
          return (await roleViews(c, spaceId)).find((r) => r.roleId === roleId)!;
        }),
      async setMember(ownerId, accountId, roleId, now) {
        await inTransaction(pool, async (c) => {
          const spaceId = await ensureSpace(c, ownerId);
          await requireAccount(c, accountId);
          if (!(await one(c, 'SELECT id FROM roles WHERE id = $1 AND space_id = $2', [roleId, spaceId]))) throw new AuthorityError(404, 'ROLE_UNKNOWN', `no role ${roleId} in this space`);
          await c.query(
            `INSERT INTO space_members (space_id, account_id, role_id, since) VALUES ($1, $2, $3, $4)
             ON CONFLICT (space_id, account_id) DO UPDATE SET role_id = excluded.role_id, since = excluded.since`,
            [spaceId, accountId, roleId, now],
          );
        });
      },
      async removeMember(ownerId, accountId) {
        const r = await pool.query('DELETE FROM space_members m USING spaces s WHERE m.space_id = s.id AND s.owner_id = $1 AND m.account_id = $2', [ownerId, accountId]);
        if (r.rowCount === 0) throw new AuthorityError(404, 'MEMBER_UNKNOWN', `${accountId} is not a member`);
      },
    },
    quota: {
      timeZone: o.timeZone,
      window: async (now) => windowAt(now),
      counter,
      tryConsume: async () => {
        throw new Error('on PostgreSQL the quota is consumed inside unbind_decide, in the unbind transaction');
      },
    },
    tickets: {
      async request(accountId, req, now) {
        if (!(await grantFor(pool, accountId, req.pid))) throw new AuthorityError(403, 'UNAUTHORIZED', `this account may not unbind ${req.pid}`);
        const id = `qt-${randomUrlSafe(10)}`;
        await pool.query(
          `INSERT INTO quota_tickets (id, requester_id, scope, pid, limit_value, from_day, to_day, reason, status, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)`,
          [id, accountId, req.scope, req.pid, req.limit, req.from, req.to, req.reason, now],
        );
        return toTicketView((await one<TicketRow>(pool, `${TICKET_SELECT} WHERE t.id = $1`, [id]))!);
      },
      async decide(ownerId, ticketId, approve, now, reason) {
        const t = await one<TicketRow & { owner_id: string }>(pool, `${TICKET_SELECT} WHERE t.id = $1`, [ticketId]);
        if (!t) throw new AuthorityError(404, 'TICKET_UNKNOWN', `no ticket ${ticketId}`);
        if (t.owner_id !== ownerId) throw new AuthorityError(403, 'NOT_OWNER', `only the owner of ${t.pid} decides this ticket`);
        // Decided once, on whichever node comes first: the update re-checks 'pending' on the newest row.
        const d = await one<{ id: string }>(
          pool,
          "UPDATE quota_tickets SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4 WHERE id = $5 AND status = 'pending' RETURNING id",
          [approve ? 'approved' : 'rejected', ownerId, now, reason ?? null, ticketId],
        );
        if (!d) {
          const now2 = await one<TicketRow>(pool, 'SELECT * FROM quota_tickets WHERE id = $1', [ticketId]);
          throw new AuthorityError(409, 'TICKET_DECIDED', `ticket ${ticketId} is already ${now2?.status ?? t.status}`);
        }
        return toTicketView((await one<TicketRow>(pool, `${TICKET_SELECT} WHERE t.id = $1`, [ticketId]))!);
      },
      list: async (accountId) =>
        (
          await all<TicketRow>(
            pool,
            `${TICKET_SELECT} WHERE t.requester_id = $1 OR p.owner_id = $1 ORDER BY t.created_at DESC, t.id LIMIT 500`,
            [accountId],
          )
        ).map(toTicketView),
    },
    logs: {
      append: (row) => appendCounted(row, 1, row.at),
      async appendUnchecked(devId, reason, count, firstAt, lastAt) {
        const dev = await one<{ serial: string; pid: string; region: string }>(pool, 'SELECT serial, pid, region FROM devices WHERE dev_id = $1', [devId]);
        if (!dev || count < 1) return;
        await appendCounted({ at: firstAt, dev_id: devId, ...dev, operator_id: null, token_id: null, channel: null, batch_ref: null, result: 'FAILED', reason, method: 'token' }, count, lastAt);
      },
      forToken,
      async query(accountId, q) {
        const allPids: string[] = [];
        const ownPids: string[] = [];
        for (const p of await unbindableProducts(accountId)) (seesAllOperations({ kind: p.grant }) ? allPids : ownPids).push(p.pid);
        const limit = q.limit ?? 100;
        const rows = await all<LogRow>(
          pool,
          `SELECT * FROM device_logs
            WHERE (pid = ANY($2::text[]) OR (pid = ANY($3::text[]) AND operator_id = $1))
              AND ($4::bigint IS NULL OR id < $4) AND ($5::bigint IS NULL OR at >= $5) AND ($6::bigint IS NULL OR at < $6)
              AND ($7::text IS NULL OR pid = $7) AND ($8::text IS NULL OR dev_id = $8) AND ($9::text IS NULL OR operator_id = $9)
              AND ($10::text IS NULL OR result = $10) AND ($11::text IS NULL OR reason = $11) AND ($12::text IS NULL OR token_id = $12)
            ORDER BY id DESC LIMIT $13`,
          [
            accountId, allPids, ownPids, q.cursor ? decodeCursor(q.cursor) : null, q.from ? Date.parse(q.from) : null, q.to ? Date.parse(q.to) : null,
            q.pid ?? null, q.devId ?? null, q.operator ?? null, q.result ?? null, q.reason ?? null, q.tokenId ?? null, limit + 1,
          ],
        );
        const page = rows.slice(0, limit);
        return { items: page.map(toLogView), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
      },
    },
    tokens: {
      issue: (accountId, region, req, now) => issue(pool, accountId, region, req, now),
      issueOnce: (accountId, region, req, now, key) =>
        inTransaction(pool, async (c) => {
          // Two nodes with one key at once: the key row is taken by one, the other waits on it and then reads it.
          await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [accountId, key]);
          const seen = await one<{ request_hash: string; token_id: string; token_enc: string }>(c, 'SELECT request_hash, token_id, token_enc FROM token_issue_keys WHERE account_id = $1 AND key = $2', [accountId, key]);
          if (seen) {
            if (!signaturesEqual(seen.request_hash, requestHash(req))) {
              throw new AuthorityError(409, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request: send a new key for a new token');
            }
            return { token: issuedView((await tokenRow(c, seen.token_id))!, box.open(seen.token_enc)), replayed: true };
          }
          const token = await issue(c, accountId, region, req, now);
          await c.query('INSERT INTO token_issue_keys (account_id, key, request_hash, token_id, token_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
            accountId, key, requestHash(req), token.id, box.seal(token.token), now,
          ]);
          return { token, replayed: false };
        }),
      row: (id) => tokenRow(pool, id),
      async viewFor(accountId, id, now) {
        const t = await tokenRow(pool, id);
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
          results: (await forToken(t.id)).map(toDeviceResult),
        };
      },
    },
    cases: createPgCases({
      pool,
      box,
      timeZone: o.timeZone,
      ...(o.accountLimit !== undefined ? { accountLimit: o.accountLimit } : {}),
      ...(o.productLimit !== undefined ? { productLimit: o.productLimit } : {}),
      grantFor,
      unbindableProducts,
    }),
    unbind: {
      unbind: unbindOne,
      unbindMany: (reqs) => Promise.all(reqs.map((r) => unbindOne(r).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))))),
    },
    events: {
      /** Through the shared feed, by sequence: this node's own results never jump ahead of another node's. */
      subscribe(tokenId, onResult, afterSeq = 0) {
        let chain = Promise.resolve();
        return feed.follow(tokenId, afterSeq, (rows) => {
          chain = chain
            .then(async () => {
              const t = await tokenRow(pool, tokenId);
              const exhausted = !!t && t.used >= t.capacity;
              rows.forEach((r: LogRow, i) => onResult(toDeviceResult(r) as DeviceResult, exhausted && i === rows.length - 1));
            })
            .catch((err: Error) => onError(err));
        });
      },
    },
    nonces: {
      remember: async (clientId, nonce, now) =>
        (await pool.query('INSERT INTO api_nonces (client_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [clientId, nonce, now])).rowCount === 1,
      async purge(now) {
        const a = await pool.query('DELETE FROM api_nonces WHERE seen_at < $1', [now - NONCE_MEMORY_MS]);
        const b = await pool.query('DELETE FROM device_nonces WHERE seen_at < $1', [now - NONCE_MEMORY_MS]);
        return (a.rowCount ?? 0) + (b.rowCount ?? 0);
      },
    },
    together: (work) => work(),
    async close() {
      await feed.close();
      await pool.end();
    },
  };
  return store;
}
