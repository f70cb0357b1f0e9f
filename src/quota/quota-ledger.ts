import type { Database, Statement } from 'better-sqlite3';
import { dayWindow, type DayWindow } from './day-window.js';

/**
 * The daily quota ledger (DESIGN §8): per account and per product, limits raised by approved tickets.
 * `tryConsume` must run inside the caller's write transaction, together with the unbind it pays for:
 * better-sqlite3 runs a transaction synchronously, so check and increment cannot interleave.
 */
export const DEFAULT_DAILY_LIMIT = 100;

export type QuotaScope = 'account' | 'product';
export type QuotaRefusal = 'QUOTA_ACCOUNT' | 'QUOTA_PRODUCT';

export interface QuotaCounter {
  used: number;
  limit: number;
  remaining: number;
}

export interface QuotaLedgerOptions {
  timeZone: string;
  accountLimit?: number;
  productLimit?: number;
}

export interface QuotaLedger {
  readonly timeZone: string;
  window(now: number): DayWindow;
  counter(scope: QuotaScope, key: string, now: number): QuotaCounter;
  /** Consumes one unbind for both the account and the product, or says which limit refuses it. */
  tryConsume(accountId: string, pid: string, now: number): { ok: true } | { ok: false; reason: QuotaRefusal };
}

export function createQuotaLedger(db: Database, opts: QuotaLedgerOptions): QuotaLedger {
  const defaults: Record<QuotaScope, number> = {
    account: opts.accountLimit ?? DEFAULT_DAILY_LIMIT,
    product: opts.productLimit ?? DEFAULT_DAILY_LIMIT,
  };
  const usedStmt: Statement<[string, string, string], { used: number }> = db.prepare(
    'SELECT used FROM quota_usage WHERE day = ? AND scope = ? AND key = ?',
  );
  // An approved account ticket raises the requester's limit; a product ticket raises the product's.
  const raisedAccountStmt: Statement<[string, string, string], { lim: number | null }> = db.prepare(
    `SELECT MAX(limit_value) AS lim FROM quota_tickets
      WHERE status = 'approved' AND scope = 'account' AND requester_id = ? AND from_day <= ? AND to_day >= ?`,
  );
  const raisedProductStmt: Statement<[string, string, string], { lim: number | null }> = db.prepare(
    `SELECT MAX(limit_value) AS lim FROM quota_tickets
      WHERE status = 'approved' AND scope = 'product' AND pid = ? AND from_day <= ? AND to_day >= ?`,
  );
  // The unbind's hot path (tryConsume): both counters and both raised limits in one statement, both
  // counters bumped in another: two statements per unbind where six were, the same rows read and written.
  const bothStmt: Statement<[string, string, string, string, string, string, string, string, string, string], { a_used: number | null; a_lim: number | null; p_used: number | null; p_lim: number | null }> =
    db.prepare(
      `SELECT (SELECT used FROM quota_usage WHERE day = ? AND scope = 'account' AND key = ?) AS a_used,
              (SELECT MAX(limit_value) FROM quota_tickets
                WHERE status = 'approved' AND scope = 'account' AND requester_id = ? AND from_day <= ? AND to_day >= ?) AS a_lim,
              (SELECT used FROM quota_usage WHERE day = ? AND scope = 'product' AND key = ?) AS p_used,
              (SELECT MAX(limit_value) FROM quota_tickets
                WHERE status = 'approved' AND scope = 'product' AND pid = ? AND from_day <= ? AND to_day >= ?) AS p_lim`,
    );
  const bumpBothStmt = db.prepare(
    `INSERT INTO quota_usage (day, scope, key, used) VALUES (?, 'account', ?, 1), (?, 'product', ?, 1)
     ON CONFLICT (day, scope, key) DO UPDATE SET used = used + 1`,
  );
  const limitOf = (scope: QuotaScope, raised: number | null): number => (raised === null ? defaults[scope] : Math.max(defaults[scope], raised));

  // Intl formatting is slow on the hot path; a day window stays valid until it ends.
  let cached: DayWindow = { day: '', startsAt: 0, endsAt: 0 };
  function windowAt(now: number): DayWindow {
    if (now < cached.startsAt || now >= cached.endsAt) cached = dayWindow(now, opts.timeZone);
    return cached;
  }

  function limitFor(scope: QuotaScope, key: string, day: string): number {
    return limitOf(scope, (scope === 'account' ? raisedAccountStmt : raisedProductStmt).get(key, day, day)?.lim ?? null);
  }

  function counterFor(scope: QuotaScope, key: string, day: string): QuotaCounter {
    const used = usedStmt.get(day, scope, key)?.used ?? 0;
    const limit = limitFor(scope, key, day);
    return { used, limit, remaining: Math.max(0, limit - used) };
  }

  return {
    timeZone: opts.timeZone,
    window: windowAt,
    counter: (scope, key, now) => counterFor(scope, key, windowAt(now).day),
    tryConsume(accountId, pid, now) {
      if (!db.inTransaction) throw new Error('quota must be consumed inside the unbind transaction');
      const { day } = windowAt(now);
      const c = bothStmt.get(day, accountId, accountId, day, day, day, pid, pid, day, day)!;
      if ((c.a_used ?? 0) >= limitOf('account', c.a_lim)) return { ok: false, reason: 'QUOTA_ACCOUNT' };
      if ((c.p_used ?? 0) >= limitOf('product', c.p_lim)) return { ok: false, reason: 'QUOTA_PRODUCT' };
      bumpBothStmt.run(day, accountId, day, pid);
      return { ok: true };
    },
  };
}
