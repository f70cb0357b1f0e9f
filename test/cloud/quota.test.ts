import { afterEach, describe, expect, it } from 'vitest';
import { eligible, startHarness, type DemoDevice, type Harness } from '../support/authority-harness.js';

/** DESIGN §8 over real HTTP: exact under concurrency, nothing for failures, day in the configured zone, tickets. */
describe('daily quota', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function tokensFor(role: 'owner' | 'partner', n: number): Promise<string[]> {
    const out: string[] = [];
    for (let left = n; left > 0; left -= 30) out.push((await h!.station(role).issueToken(Math.min(30, left))).token);
    return out;
  }

  it('given 500 concurrent device requests for one account, then exactly 100 unbind and the rest get QUOTA_ACCOUNT', async () => {
    h = await startHarness();
    const devices: DemoDevice[] = ['pqr1cam', 'pnvr8ch', 'pdvr4ch', 'pgw1uart', 'pfwcam2', 'poemcam'].flatMap((pid) => eligible(h!, pid));
    expect(devices.length).toBeGreaterThanOrEqual(500);
    const batch = devices.slice(0, 500);
    const tokens = await tokensFor('owner', 500);
    const answers = await Promise.all(batch.map((d, i) => h!.unbind(d, tokens[Math.floor(i / 30)]!)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const unbound = answers.filter((a) => a.body.result === 'UNBOUND').length;
    const refused = answers.filter((a) => a.body.reason === 'QUOTA_ACCOUNT').length;
    expect(unbound).toBe(100);
    expect(refused).toBe(400);
    const q = (await h.station('owner').call('GET', '/api/v1/quota')).body;
    expect(q.account).toEqual({ used: 100, limit: 100, remaining: 0 });
    const stillBound = (await Promise.all(batch.map((d) => h!.authority.store.registry.bindingOf(d.devId)))).filter(Boolean).length;
    expect(stillBound).toBe(400);
  });

  it('given a high account limit, then the product limit binds: exactly 100 for 150 concurrent', async () => {
    h = await startHarness({ accountLimit: 1000 });
    const devices = eligible(h, 'pqr1cam').slice(0, 150);
    const tokens = await tokensFor('owner', 150);
    const answers = await Promise.all(devices.map((d, i) => h!.unbind(d, tokens[Math.floor(i / 30)]!)));
    expect(answers.filter((a) => a.body.result === 'UNBOUND')).toHaveLength(100);
    expect(answers.filter((a) => a.body.reason === 'QUOTA_PRODUCT')).toHaveLength(50);
    // The partner shares the product's counter.
    const pt = await h.station('partner').issueToken(1);
    expect((await h.unbind(eligible(h, 'pqr1cam')[160]!, pt.token)).body).toEqual({ result: 'FAILED', reason: 'QUOTA_PRODUCT' });
  });

  it('given failed unbinds and NOT_BOUND results, then nothing is consumed', async () => {
    h = await startHarness({ accountLimit: 2 });
    const owner = h.station('owner');
    const t = await owner.issueToken(10);
    await h.unbind(eligible(h, 'plegacy1')[0]!, t.token); // UNSUPPORTED_PRODUCT
    await h.unbind(h.devices((d) => d.pid === 'pqr1cam' && !d.bound)[0]!, t.token); // NOT_BOUND
    await h.unbind(eligible(h, 'pqr1cam')[0]!, t.token.slice(0, 10) + 'zzzzzz'); // TOKEN_INVALID
    expect((await owner.call('GET', '/api/v1/quota')).body.account.used).toBe(0);
    expect((await h.unbind(eligible(h, 'pqr1cam')[1]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(eligible(h, 'pqr1cam')[2]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(eligible(h, 'pqr1cam')[3]!, t.token)).body).toEqual({ result: 'FAILED', reason: 'QUOTA_ACCOUNT' });
  });

  it('given the Asia/Shanghai time zone, then the quota day turns at 16:00 UTC', async () => {
    h = await startHarness({ accountLimit: 2, timeZone: 'Asia/Shanghai', fakeClockStart: Date.parse('2026-11-22T15:50:00Z') });
    const owner = h.station('owner');
    const q1 = (await owner.call('GET', '/api/v1/quota')).body;
    expect(q1).toMatchObject({ day: '2026-11-22', timeZone: 'Asia/Shanghai', startsAt: '2026-11-21T16:00:00.000Z', endsAt: '2026-11-22T16:00:00.000Z' });
    const t = await owner.issueToken(10, { ttlSeconds: 3600 });
    const d = eligible(h, 'pqr1cam');
    expect((await h.unbind(d[0]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d[1]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d[2]!, t.token)).body.reason).toBe('QUOTA_ACCOUNT');
    h.setNow(Date.parse('2026-11-22T16:00:01Z'));
    expect((await owner.call('GET', '/api/v1/quota')).body).toMatchObject({ day: '2026-11-23', account: { used: 0, limit: 2 } });
    expect((await h.unbind(d[2]!, t.token)).body.result).toBe('UNBOUND');
  });

  it('given an approved ticket, then the limit is raised for its date range only; only the owner approves', async () => {
    h = await startHarness({ accountLimit: 2, fakeClockStart: Date.parse('2026-11-22T10:00:00Z') });
    const partner = h.station('partner');
    const owner = h.station('owner');
    const ticket = await partner.call('POST', '/api/v1/quota-tickets', { scope: 'account', pid: 'pqr1cam', limit: 4, from: '2026-11-22', to: '2026-11-22', reason: 'returns wave after Black Friday' });
    expect(ticket).toMatchObject({ status: 201, body: { status: 'pending', requester: 'acc-partner', limit: 4 } });
    expect((await h.station('none').call('POST', '/api/v1/quota-tickets', { scope: 'account', pid: 'pqr1cam', limit: 4, from: '2026-11-22', to: '2026-11-22', reason: 'x' })).status).toBe(403);
    expect((await partner.call('POST', `/api/v1/quota-tickets/${ticket.body.id}/approve`)).body.code).toBe('NOT_OWNER');

    const t = await partner.issueToken(10, { ttlSeconds: 24 * 3600 });
    const d = eligible(h, 'pqr1cam');
    for (let i = 0; i < 2; i++) expect((await h.unbind(d[i]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d[2]!, t.token)).body.reason).toBe('QUOTA_ACCOUNT');

    const approved = await owner.call('POST', `/api/v1/quota-tickets/${ticket.body.id}/approve`);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: 'acc-owner' });
    expect((await owner.call('POST', `/api/v1/quota-tickets/${ticket.body.id}/reject`)).body.code).toBe('TICKET_DECIDED');
    expect((await partner.call('GET', '/api/v1/quota')).body.account).toEqual({ used: 2, limit: 4, remaining: 2 });
    expect((await h.unbind(d[2]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d[3]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d[4]!, t.token)).body.reason).toBe('QUOTA_ACCOUNT');

    h.setNow(Date.parse('2026-11-23T10:00:00Z'));
    expect((await partner.call('GET', '/api/v1/quota')).body.account).toEqual({ used: 0, limit: 2, remaining: 2 });
  });

  it('given a product ticket approved, then the product limit is raised for every account', async () => {
    h = await startHarness({ accountLimit: 1000, productLimit: 1, fakeClockStart: Date.parse('2026-11-22T10:00:00Z') });
    const owner = h.station('owner');
    const t = await owner.issueToken(5, { ttlSeconds: 3600 });
    const d = eligible(h, 'pdvr4ch');
    expect((await h.unbind(d[0]!, t.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d[1]!, t.token)).body.reason).toBe('QUOTA_PRODUCT');
    const ticket = await owner.call('POST', '/api/v1/quota-tickets', { scope: 'product', pid: 'pdvr4ch', limit: 3, from: '2026-11-20', to: '2026-11-30', reason: 'audit' });
    await owner.call('POST', `/api/v1/quota-tickets/${ticket.body.id}/approve`);
    expect((await h.unbind(d[1]!, t.token)).body.result).toBe('UNBOUND');
    expect((await owner.call('GET', '/api/v1/quota')).body.products.find((p: { pid: string }) => p.pid === 'pdvr4ch')).toEqual({ pid: 'pdvr4ch', used: 2, limit: 3, remaining: 1 });
  });
});
