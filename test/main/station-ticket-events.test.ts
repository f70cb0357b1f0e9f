import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { nextEvent, stationClient } from './station-client.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'station-ticket-events-'));
  const procs: RunningProcess[] = [];
  let s: ReturnType<typeof stationClient>;
  let authorityUrl = '';
  let demo: Demo;

  beforeAll(async () => {
    const demoFile = join(dir, 'demo.json');
    const authority = runUnbind(['authority', '--port', '0', '--db', join(dir, 'authority.db'), '--demo', '--export-demo', demoFile, '--log-level', 'warn']);
    procs.push(authority);
    authorityUrl = (await authority.waitFor(/listening on (http:\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);
    demo = JSON.parse(readFileSync(demoFile, 'utf8')) as Demo;
    const station = runUnbind(['start', '--port', '0', '--authority', authorityUrl, '--demo-export', demoFile, '--no-bench', '--no-lan', '--data', join(dir, 'station')]);
    procs.push(station);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('given the partner waiting on its ticket, when the owner approves it elsewhere, then a ticket event says approved and the planner has the new limit', async () => {
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-partner', operator: 'Ina' })).status).toBe(200);
    const today = (await s.call('GET', '/api/dashboard')).body.quota.day;
    const asked = await s.call('POST', '/api/tickets', { scope: 'product', pid: 'pqr1cam', limit: 250, from: today, to: today, reason: 'returns wave' });
    expect(asked).toMatchObject({ status: 201, body: { status: 'pending', mine: true } });
    const owner = demo.accounts.find((a) => a.accountId === 'acc-owner')!;
    const event = await nextEvent(s.base, s.key, (e) => e.type === 'ticket' && e.ticket.id === asked.body.id, async () => {
      const res = await sendSignedRequest({ url: authorityUrl, clientId: owner.clientId, secret: owner.secret }, 'POST', `/api/v1/quota-tickets/${asked.body.id}/approve`, { body: '{}' });
      expect(res.status).toBe(200);
    });
    expect(event).toMatchObject({ type: 'ticket', ticket: { id: asked.body.id, status: 'approved', mine: true, canDecide: false } });
    const plan = (await s.call('POST', '/api/batches/plan', { method: 'qr', pid: 'pqr1cam', deviceCount: 1 })).body;
    expect(plan.productRemaining).toBe(250);
  });
});
