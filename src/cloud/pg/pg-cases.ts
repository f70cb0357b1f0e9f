import type { Pool, PoolClient } from 'pg';
import { computeResetCode, randomUrlSafe, type PhotoType } from '../../protocol/index.js';
import { DEFAULT_DAILY_LIMIT, type QuotaScope } from '../../quota/quota-ledger.js';
import { dayWindow } from '../../quota/day-window.js';
import {
  assertCaseApprovable,
  assertCaseReviewable,
  assertCaseVisible,
  caseLogRef,
  caseViewOf,
  checkCaseFiling,
  decodeCaseCursor,
  encodeCaseCursor,
  mayReadResetCode,
  quotaRefusal,
  type CaseRow,
  type Cases,
} from '../cases.js';
import type { LogRow } from '../device-logs.js';
import { AuthorityError } from '../errors.js';
import { seesAllOperations, type Grant } from '../grants.js';
import { caseDueAt } from '../office-hours.js';
import type { SecretBox } from '../secret-box.js';
import type { Async } from '../store.js';
import type { ProductView } from '../../protocol/index.js';
import { inTransaction } from './pg-pool.js';

/**
 * Cases (DESIGN §4.10) on PostgreSQL, shared by several authority nodes: the rules of src/cloud/cases.ts
 * (its checks are the same functions), READ COMMITTED like the rest of the store (pg-unbind.ts).
 *
 * A decision locks its case row first (`FOR UPDATE`): two nodes approving or rejecting one case queue on
 * that row, and the second, reading it again once the first committed, is told what was decided
 * (CASE_DECIDED, "already approved"), having written nothing. An unbind case then locks the device's
 * binding, removes it with its shares, writes the log row and the decision, and pays the quota last, with
 * the conditional updates of unbind_decide (`used < limit`, re-checked by PostgreSQL on the newest row),
 * all in the one transaction: a refused quota rolls back the unbind with it. The lock order binding →
 * account quota → product quota is unbind_decide's, and no device unbind locks a case, so a case approval
 * and a device unbind of the same device or account cannot deadlock. The quota rows are locked only for the
 * transaction's last two statements.
 *
 * No reset code is stored: it is computed from the device key (sealed under the node's master key) when an
 * approved reset case is read by its filer or its reviewer, as on SQLite.
 */
type Q = Pick<Pool, 'query'> | PoolClient;

export interface PgCasesOptions {
  pool: Pool;
  box: SecretBox;
  timeZone: string;
  accountLimit?: number;
  productLimit?: number;
  /** The store's grant resolver, on the given connection (inside a transaction, or the pool). */
  grantFor(q: Q, accountId: string, pid: string): Promise<Grant | null>;
  unbindableProducts(accountId: string): Promise<ProductView[]>;
}

/** A case row with the sealed key of its device, read only for an approved reset case (its code). */
type CaseRowWithKey = CaseRow & { key_enc: string | null };

const SELECT = `SELECT c.seq, c.id, c.kind, c.filer_id, c.dev_id, c.pid, c.label_serial, c.photo_type, octet_length(c.photo)::int AS photo_bytes,
                       c.reset_challenge, c.reset_issued_at, c.note, c.state, c.filed_at, c.due_at, c.reviewer_id, c.decided_at,
                       c.reject_code, c.review_note, c.log_id, d.serial, p.owner_id,
                       CASE WHEN c.kind = 'password-reset' AND c.state = 'approved' THEN d.key_enc END AS key_enc
                  FROM cases c JOIN devices d ON d.dev_id = c.dev_id JOIN products p ON p.pid = c.pid`;

const LIMIT_SQL: Record<QuotaScope, string> = {
  account: `SELECT MAX(limit_value) AS lim FROM quota_tickets WHERE status = 'approved' AND scope = 'account' AND requester_id = $1 AND from_day <= $2 AND to_day >= $2`,
  product: `SELECT MAX(limit_value) AS lim FROM quota_tickets WHERE status = 'approved' AND scope = 'product' AND pid = $1 AND from_day <= $2 AND to_day >= $2`,
};
// unbind_decide's consumption (migrations/0002-unbind-decide.ts): the update happens only below the limit.
const CONSUME_SQL = `INSERT INTO quota_usage AS q (day, scope, key, used) VALUES ($1, $2, $3, 1)
  ON CONFLICT (day, scope, key) DO UPDATE SET used = q.used + 1 WHERE q.used < $4 RETURNING used`;
const APPEND_SQL = 'SELECT * FROM device_log_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $1, $12)';

export function createPgCases(o: PgCasesOptions): Async<Cases> {
  const { pool, box, timeZone, grantFor } = o;
  const defaults: Record<QuotaScope, number> = { account: o.accountLimit ?? DEFAULT_DAILY_LIMIT, product: o.productLimit ?? DEFAULT_DAILY_LIMIT };
  const one = async <T extends object>(q: Q, text: string, values: unknown[] = []): Promise<T | undefined> => (await q.query<T>(text, values)).rows[0];

  const toView = (r: CaseRowWithKey, viewer: string) =>
    caseViewOf(r, mayReadResetCode(r, viewer) && r.key_enc ? computeResetCode(box.open(r.key_enc), r.dev_id, r.reset_challenge!) : undefined);

  /** The case as `accountId` may see it (404 otherwise); with `lock`, its row locked for a decision. */
  async function visible(q: Q, accountId: string, caseId: string, lock = false): Promise<CaseRowWithKey> {
    const r = await one<CaseRowWithKey>(q, `${SELECT} WHERE c.id = $1${lock ? ' FOR UPDATE OF c' : ''}`, [caseId]);
    return assertCaseVisible(r, caseId, accountId, r ? await grantFor(q, accountId, r.pid) : null);
  }

  async function consume(c: PoolClient, scope: QuotaScope, key: string, day: string): Promise<boolean> {
    const raised = (await one<{ lim: number | null }>(c, LIMIT_SQL[scope], [key, day]))?.lim ?? null;
    const limit = raised === null ? defaults[scope] : Math.max(defaults[scope], raised);
    if (limit <= 0) return false;
    return (await c.query(CONSUME_SQL, [day, scope, key, limit])).rowCount === 1;
  }

  async function decide(c: PoolClient, r: CaseRow, reviewer: string, now: number, d: { state: 'approved' | 'rejected'; code: string | null; note: string | null; logId: number | null }): Promise<void> {
    // The row is locked by this transaction: the condition only restates what was checked under the lock.
    const changed = await c.query(
      `UPDATE cases SET state = $2, reviewer_id = $3, decided_at = $4, reject_code = $5, review_note = $6, log_id = $7 WHERE id = $1 AND state = 'submitted'`,
      [r.id, d.state, reviewer, now, d.code, d.note, d.logId],
    );
    if (changed.rowCount !== 1) throw new AuthorityError(409, 'CASE_DECIDED', `case ${r.id} was decided meanwhile`);
  }

  return {
    async file(accountId, req, now) {
      const verified = await one<{ verified_installer: number }>(pool, 'SELECT verified_installer FROM accounts WHERE id = $1', [accountId]);
      if (verified?.verified_installer !== 1) throw new AuthorityError(403, 'NOT_VERIFIED', 'only a verified installer files cases');
      type Dev = { dev_id: string; serial: string; pid: string };
      const dev =
        req.devId !== undefined
          ? await one<Dev>(pool, 'SELECT dev_id, serial, pid FROM devices WHERE dev_id = $1', [req.devId])
          : req.serial !== undefined
            ? await one<Dev>(pool, 'SELECT dev_id, serial, pid FROM devices WHERE serial = $1', [req.serial])
            : undefined;
      if (!dev) throw new AuthorityError(404, 'DEVICE_UNKNOWN', `no device ${req.devId ?? req.serial}`);
      if (!(await grantFor(pool, accountId, dev.pid))) throw new AuthorityError(403, 'UNAUTHORIZED', `this account may not unbind ${dev.pid}`);
      const { photo, reset } = checkCaseFiling(req, dev, now);
      const id = `cs-${randomUrlSafe(10)}`;
      await pool.query(
        `INSERT INTO cases (id, kind, filer_id, dev_id, pid, label_serial, photo, photo_type, reset_challenge, reset_issued_at, note, state, filed_at, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'submitted', $12, $13)`,
        [id, req.kind, accountId, dev.dev_id, dev.pid, req.serial ?? null, Buffer.from(photo.bytes), photo.type, reset?.challenge ?? null, reset?.issuedAt ?? null, req.note ?? null, now, caseDueAt(now, timeZone)],
      );
      return toView((await one<CaseRowWithKey>(pool, `${SELECT} WHERE c.id = $1`, [id]))!, accountId);
    },

    async approve(accountId, caseId, note, now) {
      const r = await inTransaction(pool, async (c) => {
        const row = assertCaseReviewable(await visible(c, accountId, caseId, true), accountId);
        const filer = await one<{ verified_installer: number }>(c, 'SELECT verified_installer FROM accounts WHERE id = $1', [row.filer_id]);
        const mayUnbind = !!(await grantFor(c, row.filer_id, row.pid));
        // Locked: a device unbind of this device on any node waits for this decision, or has removed the binding.
        const bound = row.kind === 'unbind' && (await c.query('SELECT 1 FROM bindings WHERE dev_id = $1 FOR UPDATE', [row.dev_id])).rowCount === 1;
        assertCaseApprovable(row, { verified: filer?.verified_installer === 1, mayUnbind, bound }, now);
        let logId: number | null = null;
        if (row.kind === 'unbind') {
          await c.query('DELETE FROM shares WHERE dev_id = $1', [row.dev_id]);
          await c.query('DELETE FROM bindings WHERE dev_id = $1', [row.dev_id]);
          const dev = (await one<{ serial: string; region: string }>(c, 'SELECT serial, region FROM devices WHERE dev_id = $1', [row.dev_id]))!;
          // No admin password was used: the device log's method column knows only token and local (§4.8).
          const log = (await one<LogRow>(c, APPEND_SQL, [now, row.dev_id, dev.serial, row.pid, dev.region, row.filer_id, null, null, caseLogRef(row.id), 'UNBOUND', null, 'token']))!;
          logId = log.id;
        }
        await decide(c, row, accountId, now, { state: 'approved', code: null, note: note ?? null, logId });
        if (row.kind === 'unbind') {
          // Paid last by the filer's account and the product, like a token's unbind (§8); a refusal rolls all back.
          const { day } = dayWindow(now, timeZone);
          if (!(await consume(c, 'account', row.filer_id, day))) throw quotaRefusal('QUOTA_ACCOUNT');
          if (!(await consume(c, 'product', row.pid, day))) throw quotaRefusal('QUOTA_PRODUCT');
        }
        return (await one<CaseRowWithKey>(c, `${SELECT} WHERE c.id = $1`, [caseId]))!;
      });
      return toView(r, accountId);
    },

    async reject(accountId, caseId, req, now) {
      const r = await inTransaction(pool, async (c) => {
        const row = assertCaseReviewable(await visible(c, accountId, caseId, true), accountId);
        await decide(c, row, accountId, now, { state: 'rejected', code: req.reason, note: req.note ?? null, logId: null });
        return (await one<CaseRowWithKey>(c, `${SELECT} WHERE c.id = $1`, [caseId]))!;
      });
      return toView(r, accountId);
    },

    async list(accountId, lq) {
      // Owners and space roles see every case on their products; everyone sees the cases it filed.
      const allPids = (await o.unbindableProducts(accountId)).filter((p) => seesAllOperations({ kind: p.grant })).map((p) => p.pid);
      const limit = lq.limit ?? 50;
      const rows = (
        await pool.query<CaseRowWithKey>(
          `${SELECT}
            WHERE (c.pid = ANY($2::text[]) OR c.filer_id = $1)
              AND ($3::bigint IS NULL OR c.seq < $3) AND ($4::text IS NULL OR c.state = $4)
            ORDER BY c.seq DESC LIMIT $5`,
          [accountId, allPids, lq.cursor ? decodeCaseCursor(lq.cursor) : null, lq.state ?? null, limit + 1],
        )
      ).rows;
      const page = rows.slice(0, limit);
      return { items: page.map((r) => toView(r, accountId)), nextCursor: rows.length > limit ? encodeCaseCursor(page[page.length - 1]!.seq) : null };
    },

    async photo(accountId, caseId) {
      const r = await visible(pool, accountId, caseId);
      if (accountId !== r.filer_id && accountId !== r.owner_id) throw new AuthorityError(403, 'NOT_FILER_OR_REVIEWER', 'the label photo is shown only to the case filer and its reviewer');
      const p = (await one<{ photo: Buffer; photo_type: PhotoType }>(pool, 'SELECT photo, photo_type FROM cases WHERE id = $1', [caseId]))!;
      return { bytes: p.photo, type: p.photo_type };
    },
  };
}
