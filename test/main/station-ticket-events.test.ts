import { describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { useAuthorityAndStation } from './authority-and-station.js';
import { nextEvent } from './station-client.js';

/**
 * Issue 11: a quota ticket decided at another station reaches the requester's screen live. Real
 * processes over real HTTP: an authority with the demo world and the partner's station on it; the
 * owner decides at the authority (as its own station would). The partner's station, which showed the
 * pending ticket, pushes a `ticket` event, and its planner counts with the new limit.
 */
interface Demo {
  accounts: Array<{ accountId: string; role: string; clientId: string; secret: string }>;
}

describe('station: a ticket decided elsewhere is pushed to the requester', () => {
  const env = useAuthorityAndStation<Demo>('station-ticket-events-');

  it('given the partner waiting on its ticket, when the owner approves it elsewhere, then a ticket event says approved and the planner has the new limit', async () => {
    expect((await env.station().call('POST', '/api/session', { demoAccountId: 'acc-partner', operator: 'Ina' })).status).toBe(200);
    const today = (await env.station().call('GET', '/api/dashboard')).body.quota.day;
    const asked = await env.station().call('POST', '/api/tickets', { scope: 'product', pid: 'pqr1cam', limit: 250, from: today, to: today, reason: 'returns wave' });
    expect(asked).toMatchObject({ status: 201, body: { status: 'pending', mine: true } });
    const owner = env.demo().accounts.find((a) => a.accountId === 'acc-owner')!;
    const event = await nextEvent(env.station().base, env.station().key, (e) => e.type === 'ticket' && e.ticket.id === asked.body.id, async () => {
      const res = await sendSignedRequest({ url: env.authorityUrl(), clientId: owner.clientId, secret: owner.secret }, 'POST', `/api/v1/quota-tickets/${asked.body.id}/approve`, { body: '{}' });
      expect(res.status).toBe(200);
    });
    expect(event).toMatchObject({ type: 'ticket', ticket: { id: asked.body.id, status: 'approved', mine: true, canDecide: false } });
    const plan = (await env.station().call('POST', '/api/batches/plan', { method: 'qr', pid: 'pqr1cam', deviceCount: 1 })).body;
    expect(plan.productRemaining).toBe(250);
  });
});
