import type { Database } from 'better-sqlite3';
import { randomUrlSafe, type QuotaTicketRequest, type QuotaTicketView } from '../protocol/index.js';
import { AuthorityError } from './errors.js';
import type { GrantResolver } from './grants.js';

/** Quota tickets: an account asks for a raised daily limit; the product's owner approves or rejects. */
export interface TicketRow {
  id: string;
  requester_id: string;
  scope: 'account' | 'product';
  pid: string;
  limit_value: number;
  from_day: string;
  to_day: string;
  reason: string;
  status: QuotaTicketView['status'];
  decided_by: string | null;
  created_at: number;
}

export const toView = (t: TicketRow): QuotaTicketView => ({
  id: t.id,
  requester: t.requester_id,
  scope: t.scope,
  pid: t.pid,
  limit: t.limit_value,
  from: t.from_day,
  to: t.to_day,
  reason: t.reason,
  status: t.status,
  decidedBy: t.decided_by,
  createdAt: new Date(t.created_at).toISOString(),
});

export interface QuotaTickets {
  request(accountId: string, req: QuotaTicketRequest, now: number): QuotaTicketView;
  decide(ownerId: string, ticketId: string, approve: boolean, now: number): QuotaTicketView;
  list(accountId: string): QuotaTicketView[];
}

export function createQuotaTickets(db: Database, grants: GrantResolver): QuotaTickets {
  const q = {
    insert: db.prepare(
      `INSERT INTO quota_tickets (id, requester_id, scope, pid, limit_value, from_day, to_day, reason, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
    ),
    byId: db.prepare<[string], TicketRow & { owner_id: string }>(
      'SELECT t.*, p.owner_id FROM quota_tickets t JOIN products p ON p.pid = t.pid WHERE t.id = ?',
    ),
    decide: db.prepare("UPDATE quota_tickets SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'"),
    list: db.prepare<[string, string], TicketRow>(
      `SELECT t.* FROM quota_tickets t JOIN products p ON p.pid = t.pid
        WHERE t.requester_id = ? OR p.owner_id = ? ORDER BY t.created_at DESC, t.id LIMIT 500`,
    ),
  };
  return {
    request(accountId, req, now) {
      // One may only ask for more of what one may do at all.
      if (!grants.grantFor(accountId, req.pid)) throw new AuthorityError(403, 'UNAUTHORIZED', `this account may not unbind ${req.pid}`);
      const id = `qt-${randomUrlSafe(10)}`;
      q.insert.run(id, accountId, req.scope, req.pid, req.limit, req.from, req.to, req.reason, now);
      return toView(q.byId.get(id)!);
    },
    decide(ownerId, ticketId, approve, now) {
      const t = q.byId.get(ticketId);
      if (!t) throw new AuthorityError(404, 'TICKET_UNKNOWN', `no ticket ${ticketId}`);
      if (t.owner_id !== ownerId) throw new AuthorityError(403, 'NOT_OWNER', `only the owner of ${t.pid} decides this ticket`);
      if (q.decide.run(approve ? 'approved' : 'rejected', ownerId, now, ticketId).changes === 0) {
        throw new AuthorityError(409, 'TICKET_DECIDED', `ticket ${ticketId} is already ${t.status}`);
      }
      return toView(q.byId.get(ticketId)!);
    },
    list: (accountId) => q.list.all(accountId, accountId).map(toView),
  };
}
