import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient } from './station-client.js';

/**
 * Quota tickets and labels through the station, as the clerk and the owner use them: `unbind start`
 * with its embedded authority, every call over real HTTP.
 */
describe('station: quota tickets, serial labels and the print sheet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-tickets-'));
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;
  let today: string;
  const wifi = { ssid: 'bench-lab', password: 'bench-pass-2024' };
  const signInAs = async (demoAccountId: string) => expect((await s.call('POST', '/api/session', { demoAccountId, operator: 'Ina' })).status).toBe(200);
  const plan150 = async () => (await s.call('POST', '/api/batches/plan', { method: 'qr', pid: 'pqr1cam', deviceCount: 150 })).body;
  const tickets = async () => (await s.call('GET', '/api/tickets')).body.tickets as Array<Record<string, unknown>>;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-uart', '0', '--no-lan', '--log-level', 'warn']);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    await signInAs('acc-partner');
    today = (await s.call('GET', '/api/dashboard')).body.quota.day;
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a partner asks the owner for a raise; the owner rejects one with a reason and approves the other; the partner’s planner has the new limit at once', async () => {
    // The partner over quota is told to ask the owner, by name.
    await signInAs('acc-partner');
    const refused = await plan150();
    expect(refused).toMatchObject({ ok: false, refusal: { code: 'QUOTA_ACCOUNT', nextStep: 'request-ticket', owner: 'Acme Devices' } });
    expect(refused.refusal.message).toMatch(/request a quota ticket from the owner, Acme Devices/);
    const asked = (await s.call('GET', '/api/tickets')).body;
    expect(asked.products.map((p: { pid: string }) => p.pid).sort()).toEqual(['pnvr8ch', 'pqr1cam']);
    expect(asked.products.every((p: { ownedByMe: boolean }) => !p.ownedByMe)).toBe(true);

    const ask = (scope: string, limit: number) => s.call('POST', '/api/tickets', { scope, pid: 'pqr1cam', limit, from: today, to: today, reason: 'returns wave' });
    const product = await ask('product', 300);
    expect(product).toMatchObject({ status: 201, body: { status: 'pending', mine: true, canDecide: false, requesterName: 'FixIt Returns', productName: 'QR Camera C1' } });
    const account = await ask('account', 300);
    expect(account.status).toBe(201);
    // A requester does not decide its own ticket; a bad request is refused with the field; neither changes anything.
    expect(await s.call('POST', `/api/tickets/${product.body.id}/decision`, { decision: 'approve' })).toMatchObject({ status: 403, body: { code: 'NOT_PRODUCT_OWNER' } });
    expect(await s.call('POST', '/api/tickets', { scope: 'product', pid: 'pqr1cam', limit: 300, from: today, to: '2000-01-01', reason: 'x' })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await s.call('POST', '/api/tickets', { scope: 'product', pid: 'pdvr4ch', limit: 300, from: today, to: today, reason: 'x' })).toMatchObject({ status: 403, body: { code: 'TICKET_NOT_ALLOWED' } });
    expect((await tickets()).map((t) => t.status)).toEqual(['pending', 'pending']);

    // The owner over quota is told it raises the limit itself, and sees the pending tickets it decides.
    await signInAs('acc-owner');
    expect(await plan150()).toMatchObject({ ok: false, refusal: { code: 'QUOTA_ACCOUNT', nextStep: 'raise-as-owner' } });
    const pending = await tickets();
    expect(pending.filter((t) => t.canDecide).map((t) => t.id).sort()).toEqual([product.body.id, account.body.id].sort());
    expect(pending.every((t) => !t.mine)).toBe(true);
    expect(await s.call('POST', `/api/tickets/${account.body.id}/decision`, { decision: 'reject' })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await s.call('POST', `/api/tickets/${account.body.id}/decision`, { decision: 'reject', reason: '   ' })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await s.call('POST', '/api/tickets/qt-nosuchticket/decision', { decision: 'approve' })).toMatchObject({ status: 404, body: { code: 'TICKET_UNKNOWN' } });
    expect((await tickets()).map((t) => t.status)).toEqual(['pending', 'pending']);

    const rejected = await s.call('POST', `/api/tickets/${account.body.id}/decision`, { decision: 'reject', reason: 'one raise a week' });
    expect(rejected).toMatchObject({ status: 200, body: { status: 'rejected', decisionReason: 'one raise a week', decidedBy: 'acc-owner', canDecide: false } });
    expect((await s.call('POST', `/api/tickets/${product.body.id}/decision`, { decision: 'approve' })).body).toMatchObject({ status: 'approved', decisionReason: null });
    expect(await s.call('POST', `/api/tickets/${product.body.id}/decision`, { decision: 'reject', reason: 'changed my mind' })).toMatchObject({ status: 409, body: { code: 'TICKET_DECIDED' } });

    // The partner reads both decisions, and its planner counts with the product's new limit.
    await signInAs('acc-partner');
    const decided = Object.fromEntries((await tickets()).map((t) => [t.id, t]));
    expect(decided[account.body.id]).toMatchObject({ status: 'rejected', decisionReason: 'one raise a week', mine: true });
    expect(decided[product.body.id]).toMatchObject({ status: 'approved' });
    const after = await plan150();
    expect(after).toMatchObject({ productRemaining: 300, accountRemaining: 100, refusal: { code: 'QUOTA_ACCOUNT' } });
    const quota = (await s.call('GET', '/api/dashboard')).body.quota;
    expect(quota.products.find((p: { pid: string }) => p.pid === 'pqr1cam')).toMatchObject({ limit: 300 });
  });

  it('a scanned label that is not a serial of the batch’s product is refused with what it should look like; a right one is taken', async () => {
    await signInAs('acc-owner');
    const started = await s.call('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi, deviceCount: 1 });
    expect(started.status).toBe(201);
    const id = started.body.id;
    for (const label of ['garbage label 😀', 'NV8-2611-000001', 'QC1-2611-00001', 'x'.repeat(128)]) {
      const r = await s.call('POST', `/api/batches/${id}/labels`, { label });
      expect(r.status, label).toBe(400);
      expect(r.body.code, label).toBe('LABEL_REFUSED');
    }
    expect((await s.call('POST', `/api/batches/${id}/labels`, { label: 'NV8-2611-000001' })).body.message).toMatch(/QC1-0000-000000 \(QC1-####-######\)/);
    expect((await s.call('GET', `/api/batches/${id}`)).body.scanned).toEqual([]);
    expect((await s.call('POST', `/api/batches/${id}/labels`, { label: 'QC1-2611-000001' })).body.scanned).toEqual(['QC1-2611-000001']);
    // The product view from the authority carries the format the refusal names.
    const products = (await s.call('GET', '/api/dashboard')).body.products;
    expect(products.find((p: { pid: string }) => p.pid === 'pnvr8ch').serialFormat).toBe('NV8-####-######');

    // The print sheet: A4 by default, a 62 mm roll on request, nothing else.
    const sheet = (paper?: string) => fetch(`${s.base}/api/batches/${id}/sheet${paper ? `?paper=${paper}` : ''}`, { headers: { 'x-station-key': s.key } });
    expect(await (await sheet()).text()).toContain('size:A4');
    const roll = await (await sheet('roll62')).text();
    expect(roll).toContain('size:62mm 100mm');
    expect(roll).toContain('class="paper-roll62"');
    expect((await sheet('letter')).status).toBe(400);
    await s.call('POST', `/api/batches/${id}/cancel`);
  });
});
