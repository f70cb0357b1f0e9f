import { AuthorityRequestError } from '../batch/station-authority-client.js';
import type { QuotaTicketView, TicketView } from '../protocol/index.js';
import { StationError } from '../protocol/station-api/refusals.js';
import type { EventHub } from './event-hub.js';
import type { SessionManager } from './station-session.js';
import type { StationHandlers } from './station-calls.js';

/**
 * The quota tickets domain of the station (DESIGN §8): the signed-in account's tickets from the
 * authority, marked with what it may do; its requests and decisions passed on. The authority's refusals
 * become the station's own, so the operator reads what to do, not an upstream failure. While a ticket the
 * station has shown is pending, it asks the authority every `pollMs` and pushes a `ticket` event when one
 * is decided (by the owner at another station): the requester sees the decision, and the new limit, live.
 */
export type TicketHandlers = Pick<StationHandlers, 'listTickets' | 'requestTicket' | 'decideTicket'>;

const UPSTREAM: Record<string, () => StationError> = {
  TICKET_UNKNOWN: () => new StationError(404, 'TICKET_UNKNOWN', 'no such quota ticket for this account'),
  TICKET_DECIDED: () => new StationError(409, 'TICKET_DECIDED', 'the ticket is already decided'),
  NOT_OWNER: () => new StationError(403, 'NOT_PRODUCT_OWNER', 'only the owner of the product decides its quota tickets'),
  UNAUTHORIZED: () => new StationError(403, 'TICKET_NOT_ALLOWED', 'this account may not unbind that product, so it cannot ask to unbind more of it'),
};

async function passingRefusals<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const mapped = err instanceof AuthorityRequestError ? UPSTREAM[err.code] : undefined;
    throw mapped ? mapped() : err;
  }
}

export const DEFAULT_TICKET_POLL_MS = 3000;

export interface TicketDesk {
  handlers: TicketHandlers;
  /** One tick of the poll (what its timer runs). */
  pollNow(): Promise<void>;
  close(): void;
}

export function createTicketDesk(deps: { sessions: SessionManager; hub: EventHub; pollMs?: number; log?: (msg: string, fields?: Record<string, unknown>) => void }): TicketDesk {
  const { sessions, hub } = deps;
  const handlers = createTicketHandlers(sessions);
  let account: string | null = null;
  /** Each ticket the station has shown the signed-in account, as last seen. */
  const known = new Map<string, TicketView>();
  /**
   * What the authority answered about some tickets: a decision not seen before is pushed. A ticket only
   * moves on (pending, then decided): an answer read before a decision the station already saw (a list
   * slower than a poll) is answered with that decision, never as pending again.
   */
  function observe(tickets: readonly TicketView[]): TicketView[] {
    const s = sessions.current();
    if (s.account.accountId !== account) {
      account = s.account.accountId;
      known.clear();
    }
    return tickets.map((t) => {
      const was = known.get(t.id);
      if (was && was.status !== 'pending' && t.status === 'pending') return was;
      known.set(t.id, t);
      if (was && was.status !== t.status) hub.emit({ type: 'ticket', ticket: t });
      return t;
    });
  }
  let polling = false;
  async function poll(): Promise<void> {
    if (polling || ![...known.values()].some((t) => t.status === 'pending')) return;
    polling = true;
    try {
      observe((await handlers.listTickets()).tickets);
    } catch (err) {
      // Signed out, or the authority away for a moment: the next tick asks again.
      if (!(err instanceof StationError)) deps.log?.('ticket poll failed', { message: (err as Error).message });
    } finally {
      polling = false;
    }
  }
  const timer = setInterval(() => void poll(), deps.pollMs ?? DEFAULT_TICKET_POLL_MS);
  timer.unref();
  return {
    handlers: {
      async listTickets() {
        const listed = await handlers.listTickets();
        return { ...listed, tickets: observe(listed.tickets) };
      },
      async requestTicket(req) {
        return observe([await handlers.requestTicket(req)])[0]!;
      },
      async decideTicket(id, d) {
        return observe([await handlers.decideTicket(id, d)])[0]!;
      },
    },
    pollNow: poll,
    close: () => clearInterval(timer),
  };
}

export function createTicketHandlers(sessions: SessionManager): TicketHandlers {
  async function marked(t: QuotaTicketView, ownedPids?: ReadonlySet<string>): Promise<TicketView> {
    const s = sessions.current();
    const owned = ownedPids ?? new Set((await s.client.products()).filter((p) => p.grant === 'owner').map((p) => p.pid));
    return { ...t, mine: t.requester === s.account.accountId, canDecide: t.status === 'pending' && owned.has(t.pid) };
  }
  return {
    async listTickets() {
      const s = sessions.current();
      const [tickets, products] = await Promise.all([passingRefusals(s.client.tickets()), s.client.products()]);
      const owned = new Set(products.filter((p) => p.grant === 'owner').map((p) => p.pid));
      return {
        tickets: await Promise.all(tickets.map((t) => marked(t, owned))),
        products: products.map((p) => ({ pid: p.pid, name: p.name, owner: p.owner.name, ownedByMe: p.grant === 'owner' })),
      };
    },
    async requestTicket(req) {
      return marked(await passingRefusals(sessions.current().client.requestTicket(req)));
    },
    async decideTicket(id, d) {
      const decided = await passingRefusals(sessions.current().client.decideTicket(id, d.decision === 'approve', d.reason === undefined ? {} : { reason: d.reason }));
      return marked(decided);
    },
  };
}
