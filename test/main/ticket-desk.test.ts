import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventHub } from '../../src/main/event-hub.js';
import { createSessionManager } from '../../src/main/station-session.js';
import { createTicketDesk } from '../../src/main/ticket-calls.js';
import type { StationEvent } from '../../src/protocol/index.js';
import { startHarness, type Harness } from '../support/authority-harness.js';
import { startForwardingProxy, type ForwardingProxy } from '../support/forwarding-proxy.js';

/**
 * The station's ticket desk on real parts: the real authority over HTTP on 127.0.0.1, the station's
 * real session (its signed client) through a forwarding proxy that can make one answer slow, the
 * station's event hub. Its poll is driven one tick at a time (`pollNow`).
 */
describe('station ticket desk', () => {
  let h: Harness;
  let proxy: ForwardingProxy;
  /** Set by a test: the next ticket-list answer waits for this. */
  let holdNextList: { release: Promise<void>; read: () => void } | null = null;

  beforeAll(async () => {
    h = await startHarness();
    proxy = await startForwardingProxy(h.url, {
      hold: (req) => {
        if (req.method !== 'GET' || !/^\/api\/v1\/quota-tickets(\?|$)/.test(req.url ?? '') || !holdNextList) return null;
        const held = holdNextList;
        holdNextList = null;
        held.read();
        return held.release;
      },
    });
  });
  afterAll(async () => {
    await proxy.close();
    await h.close();
  });

  it('given the tickets screen\'s list read before the owner decided and answered after the poll saw the decision, then the ticket stays decided: no "pending" event, no pending answer', async () => {
    const sessions = createSessionManager({
      authorityUrl: proxy.url,
      stationId: 'desk-station',
      demoAccounts: h.demo.accounts.map(({ accountId, name, role, region, clientId, secret }) => ({ accountId, name, role, region, clientId, secret })),
    });
    const hub = createEventHub();
    const events: StationEvent[] = [];
    hub.subscribe((e) => events.push(e));
    const desk = createTicketDesk({ sessions, hub, pollMs: 3_600_000 });
    try {
      await sessions.signIn({ demoAccountId: 'acc-partner', operator: 'Pia' });
      const day = new Date(h.now()).toISOString().slice(0, 10);
      const asked = await desk.handlers.requestTicket({ scope: 'product', pid: 'pqr1cam', limit: 250, from: day, to: day, reason: 'returns wave' });
      expect(asked.status).toBe('pending');

      // The screen's list: read at the authority while pending, its answer slow on the way.
      let release!: () => void;
      let read!: () => void;
      const wasRead = new Promise<void>((r) => (read = r));
      holdNextList = { release: new Promise<void>((r) => (release = r)), read };
      const screenList = desk.handlers.listTickets();
      await wasRead;
      // The owner decides elsewhere; the desk's poll sees it and says so.
      expect((await h.station('owner').call('POST', `/api/v1/quota-tickets/${asked.id}/approve`, {})).status).toBe(200);
      await desk.pollNow();
      release();
      const answered = await screenList;

      expect(events.filter((e) => e.type === 'ticket').map((e) => (e as Extract<StationEvent, { type: 'ticket' }>).ticket.status)).toEqual(['approved']);
      expect(answered.tickets.find((t) => t.id === asked.id)?.status).toBe('approved');
    } finally {
      desk.close();
    }
  });
});
