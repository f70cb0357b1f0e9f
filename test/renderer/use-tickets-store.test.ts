import { describe, expect, it } from 'vitest';
import type { TicketsView, TicketView } from '../../src/protocol/station-api.js';
import { StationApiError } from '../../src/renderer/api/station-api-error.js';
import { useDashboardStore } from '../../src/renderer/stores/use-dashboard-store.js';
import { checkDecision, checkTicketDraft, useTicketsStore } from '../../src/renderer/stores/use-tickets-store.js';
import { routeEvent } from '../../src/renderer/app/event-dispatch.js';
import { createFakeStationApi, DASHBOARD, installStores } from './support/fake-station-api.js';

const ticket = (over: Partial<TicketView> = {}): TicketView => ({
  id: 'qt-1', requester: 'acc-partner', requesterName: 'FixIt', scope: 'product', pid: 'pqr1cam', productName: 'PQR Cam 1', limit: 300,
  from: '2025-03-01', to: '2025-03-02', reason: 'wave', status: 'pending', decidedBy: null, decisionReason: null, decidedAt: null,
  createdAt: '2025-03-01T08:00:00.000Z', mine: false, canDecide: true, ...over,
});
const view = (tickets: TicketView[]): TicketsView => ({ tickets, products: [{ pid: 'pqr1cam', name: 'PQR Cam 1', owner: 'Owner Co', ownedByMe: true }] });
const draft = { scope: 'product' as const, pid: 'pqr1cam', limit: '300', from: '2025-03-01', to: '2025-03-02', reason: ' wave ' };

describe('quota tickets store', () => {
  it('given a draft, then each field is checked with the station’s own limits, each issue beside its field', () => {
    expect(checkTicketDraft(draft)).toEqual({ ok: true, request: { scope: 'product', pid: 'pqr1cam', limit: 300, from: '2025-03-01', to: '2025-03-02', reason: 'wave' } });
    const bad = checkTicketDraft({ ...draft, limit: '0', from: '2025-02-30', reason: '  ' });
    expect(bad).toEqual({ ok: false, issues: { limit: { kind: 'too-small', min: 1 }, from: { kind: 'date' }, reason: { kind: 'required' } } });
    expect(checkTicketDraft({ ...draft, limit: '', to: '2025-02-01' })).toMatchObject({ ok: false, issues: { limit: { kind: 'whole-number' }, to: { kind: 'date-order' } } });
    expect(checkTicketDraft({ ...draft, limit: '1.5' })).toMatchObject({ ok: false, issues: { limit: { kind: 'whole-number' } } });
    expect(checkTicketDraft({ ...draft, limit: 100_001 })).toMatchObject({ ok: false, issues: { limit: { kind: 'too-big', max: 100_000 } } });
    expect(checkDecision('reject', '  ')).toMatchObject({ ok: false, issues: { reason: { kind: 'required' } } });
    expect(checkDecision('approve', '')).toEqual({ ok: true, value: { decision: 'approve' } });
  });

  it('given the owner approves, then the list and the dashboard’s quota are loaded again (the planner counts with the new limit)', async () => {
    let decided = false;
    const api = createFakeStationApi({
      listTickets: async () => view([ticket(decided ? { status: 'approved', canDecide: false } : {})]),
      decideTicket: async () => ((decided = true), ticket({ status: 'approved', canDecide: false })),
      getDashboard: async () => DASHBOARD,
    });
    installStores(api);
    const tickets = useTicketsStore();
    await tickets.load();
    expect(tickets.toDecide.map((t) => t.id)).toEqual(['qt-1']);
    expect(api.callsOf('getDashboard')).toHaveLength(0);
    expect(await tickets.decide('qt-1', { decision: 'approve' })).toMatchObject({ status: 'approved' });
    expect(api.callsOf('decideTicket')).toEqual([['qt-1', { decision: 'approve' }]]);
    expect(tickets.toDecide).toEqual([]);
    expect(api.callsOf('getDashboard')).toHaveLength(1);
    expect(useDashboardStore().loaded).toBe(true);
  });

  it('given a refused decision, then the refusal is kept for the form and the list is read again; the quota is not', async () => {
    const api = createFakeStationApi({
      listTickets: async () => view([ticket({ status: 'approved', canDecide: false })]),
      decideTicket: async () => {
        throw new StationApiError('TICKET_DECIDED', 'the ticket is already decided', 409);
      },
    });
    installStores(api);
    const tickets = useTicketsStore();
    expect(await tickets.decide('qt-1', { decision: 'reject', reason: 'no' })).toBeNull();
    expect(tickets.sendError).toEqual({ code: 'TICKET_DECIDED', message: 'the ticket is already decided' });
    expect(tickets.tickets[0]?.status).toBe('approved');
    expect(api.callsOf('getDashboard')).toHaveLength(0);
  });
  it('given a ticket event (decided at another station), then its row changes at once and an approval reloads the dashboard', async () => {
    const api = createFakeStationApi({ listTickets: async () => view([ticket({ mine: true, canDecide: false })]), getDashboard: async () => DASHBOARD });
    installStores(api);
    const tickets = useTicketsStore();
    await tickets.load();
    routeEvent({ type: 'ticket', ticket: ticket({ status: 'rejected', mine: true, canDecide: false, decisionReason: 'not this week' }) }, { tickets } as never);
    expect(tickets.mine.map((t) => [t.id, t.status, t.decisionReason])).toEqual([['qt-1', 'rejected', 'not this week']]);
    expect(api.callsOf('getDashboard')).toHaveLength(0);
    routeEvent({ type: 'ticket', ticket: ticket({ id: 'qt-2', status: 'approved', mine: true, canDecide: false }) }, { tickets } as never);
    expect(tickets.mine.map((t) => t.id)).toEqual(['qt-2', 'qt-1']);
    expect(api.callsOf('getDashboard')).toHaveLength(1);
  });
});
