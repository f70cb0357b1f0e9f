import { z } from 'zod';
import { pidSchema } from '../protocol/device-messages.js';
import { describeIssues, HistoryInputError } from './errors.js';

/**
 * What one account may see of the history (DESIGN §7), resolved by the caller from the authority's
 * `products` answer (each product with the grant that allows it):
 * - allPids: products it owns or holds a space role for → every attempt on them, whoever made it;
 * - ownPids: products it holds a partner or OEM grant for → only its own attempts on them.
 * Attempts whose product is unknown (pid null, e.g. DEVICE_UNKNOWN) are seen by the account that made
 * them: they are its own operations, and hiding them would hide exactly the devices that need a look.
 */
export interface HistoryScope {
  allPids: string[];
  ownPids: string[];
  accountId: string;
}

export const historyScopeSchema = z.strictObject({
  allPids: z.array(pidSchema).max(10_000),
  ownPids: z.array(pidSchema).max(10_000),
  accountId: z.string().min(1).max(64),
});

/** A SQL condition on `attempts` and its parameters. */
export interface SqlCondition {
  sql: string;
  params: Array<string | number>;
}

export function parseScope(input: unknown): HistoryScope {
  const r = historyScopeSchema.safeParse(input);
  if (!r.success) throw new HistoryInputError('INVALID_QUERY', `history scope rejected: ${describeIssues(r.error.issues)}`, r.error.issues);
  return r.data;
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * The scope as a condition, simplified against the query's pid filter so the planner sees a plain
 * equality where it can. Returns null when the scope admits no row at all: the caller answers empty
 * without querying.
 *
 * The unary `+` keeps SQLite from using an index for a term. An owner's scope (pid IN all its
 * products OR its own unknown-product rows) matches most of the log; left indexable, the planner
 * unions two index searches and sorts every match (400 ms and 40 MB for a first page at a million
 * rows). As a residual check it is read from the time index's own columns while the rows come in
 * page order. A partner's scope keeps `account_id = ?` indexable: it is the narrowest way in.
 */
export function scopeCondition(scope: HistoryScope, pidFilter: string | undefined): SqlCondition | null {
  const all = new Set(scope.allPids);
  // A product in both lists is seen in full: the wider grant wins.
  const own = [...new Set(scope.ownPids)].filter((p) => !all.has(p));

  if (pidFilter !== undefined) {
    if (all.has(pidFilter)) return { sql: '1', params: [] };
    if (own.includes(pidFilter)) return { sql: 'account_id = ?', params: [scope.accountId] };
    return null;
  }

  const mine = own.length > 0 ? `(+pid IN (${placeholders(own.length)}) OR +pid IS NULL)` : '+pid IS NULL';
  if (all.size === 0) return { sql: `account_id = ? AND ${mine}`, params: [scope.accountId, ...own] };
  return {
    sql: `(+pid IN (${placeholders(all.size)}) OR (+account_id = ? AND ${mine}))`,
    params: [...all, scope.accountId, ...own],
  };
}
