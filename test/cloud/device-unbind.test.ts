import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUrlSafe, signDeviceRequest } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** Every failure code the authority can know (DESIGN §5), over real HTTP, from the device's side. */
describe('device unbind (DESIGN §4.3)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-11-22T09:00:00Z') });
  });
  afterAll(() => h.close());

  const quota = async (role: 'owner' | 'partner' | 'member' | 'oem' | 'none') => (await h.station(role).call('GET', '/api/v1/quota')).body;

  it('given a bound device and a partner token, when it unbinds, then UNBOUND; binding and every share are gone; one quota consumed', async () => {
    const partner = h.station('partner');
    const candidates = eligible(h, 'pqr1cam');
    const shareCounts = await Promise.all(candidates.map(async (d) => (await h.authority.store.registry.sharesOf(d.devId)).length));
    const shared = candidates.find((_, i) => shareCounts[i]! >= 2)!;
    expect(shared).toBeDefined();
    const before = await quota('partner');
    const token = await partner.issueToken(5);
    expect(token).toMatchObject({ region: 'EU', capacity: 5, channel: 'qr' });
    expect(token.token).toMatch(/^EU[A-Za-z0-9_-]{14}$/);

    const r = await h.unbind(shared, token.token);
    expect(r).toEqual({ status: 200, body: { result: 'UNBOUND' } });
    expect(await h.authority.store.registry.bindingOf(shared.devId)).toBeUndefined();
    expect(await h.authority.store.registry.sharesOf(shared.devId)).toEqual([]);
    const after = await quota('partner');
    expect(after.account.used).toBe(before.account.used + 1);
    expect(after.products.find((p: { pid: string }) => p.pid === 'pqr1cam').used).toBe(before.products.find((p: { pid: string }) => p.pid === 'pqr1cam').used + 1);
  });

  it('given a device that is not bound, then NOT_BOUND and no quota is consumed', async () => {
    const notBound = h.devices((d) => d.pid === 'pqr1cam' && !d.bound)[0]!;
    const before = await quota('owner');
    const token = await h.station('owner').issueToken(2);
    expect((await h.unbind(notBound, token.token)).body).toEqual({ result: 'NOT_BOUND' });
    const after = await quota('owner');
    expect(after.account.used).toBe(before.account.used);
  });

  it('given one token of capacity 30, then 30 devices unbind and the 31st gets TOKEN_EXHAUSTED', async () => {
    const token = await h.station('owner').issueToken(30);
    const devices = eligible(h, 'pnvr8ch').slice(0, 31);
    const results = [];
    for (const d of devices) results.push((await h.unbind(d, token.token)).body);
    expect(results.slice(0, 30).every((r) => r.result === 'UNBOUND')).toBe(true);
    expect(results[30]).toEqual({ result: 'FAILED', reason: 'TOKEN_EXHAUSTED' });
    const view = await h.station('owner').call('GET', `/api/v1/unbind-tokens/${token.id}`);
    expect(view.body).toMatchObject({ used: 30, capacity: 30, status: 'exhausted' });
    expect(view.body.results).toHaveLength(31);
  });

  it('given a device that already used a token, when it sends again with a new nonce, then it is told what was decided (replayed); once bound again, TOKEN_REUSED', async () => {
    const d = eligible(h, 'pdvr4ch')[0]!;
    const token = await h.station('owner').issueToken(5);
    expect((await h.unbind(d, token.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'UNBOUND', replayed: true });
    await h.authority.store.registry.bind(d.devId, 'c-0001', h.now());
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_REUSED' });
  });

  it('given a token past its expiry, then TOKEN_EXPIRED', async () => {
    const d = eligible(h, 'pdvr4ch')[1]!;
    const token = await h.station('owner').issueToken(5, { ttlSeconds: 60 });
    h.setNow(h.now() + 61_000);
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_EXPIRED' });
    expect(await h.authority.store.registry.bindingOf(d.devId)).toBeDefined();
  });

  it('given a well-formed token the authority never issued, or a wrong secret, then TOKEN_INVALID', async () => {
    const d = eligible(h, 'pdvr4ch')[2]!;
    expect((await h.unbind(d, `EU${randomUrlSafe(14)}`)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_INVALID' });
    const token = await h.station('owner').issueToken(5);
    const wrongSecret = token.token.slice(0, 10) + (token.token.slice(10) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA');
    expect((await h.unbind(d, wrongSecret)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_INVALID' });
  });

  it('given an EU token on an AY device, then REGION_MISMATCH', async () => {
    const ay = eligible(h, 'payqr1')[0]!;
    const token = await h.station('owner').issueToken(1);
    expect((await h.unbind(ay, token.token)).body).toEqual({ result: 'FAILED', reason: 'REGION_MISMATCH' });
    const ayToken = await h.station('owner', 'AY').issueToken(1);
    expect(ayToken.region).toBe('AY');
    expect((await h.unbind(ay, ayToken.token)).body).toEqual({ result: 'UNBOUND' });
  });

  it('given a device id the authority does not know, then DEVICE_UNKNOWN', async () => {
    const token = await h.station('owner').issueToken(1);
    const ghost = { ...eligible(h, 'pqr1cam')[0]!, devId: 'ghost-device-0001' };
    expect((await h.unbind(ghost, token.token)).body).toEqual({ result: 'FAILED', reason: 'DEVICE_UNKNOWN' });
  });

  it('given a signature made with another key, then DEVICE_AUTH and the device stays bound', async () => {
    const d = eligible(h, 'pqr1cam')[40]!;
    const token = await h.station('owner').issueToken(1);
    const ts = h.now();
    const nonce = randomUrlSafe(20);
    const sig = signDeviceRequest('not-the-device-key', d.devId, token.token, ts, nonce);
    expect((await h.unbind(d, token.token, { ts, nonce, sig })).body).toEqual({ result: 'FAILED', reason: 'DEVICE_AUTH' });
    expect(await h.authority.store.registry.bindingOf(d.devId)).toBeDefined();
  });

  it('given a replayed request (same nonce) or a timestamp 6 minutes off, then REPLAY', async () => {
    const d = eligible(h, 'pqr1cam')[41]!;
    const token = await h.station('owner').issueToken(3);
    const nonce = randomUrlSafe(20);
    const ts = h.now();
    // First use of the nonce is refused for another reason (it is too late), so the device stays bound.
    expect((await h.unbind(d, token.token, { ts: ts - 360_000, nonce })).body).toEqual({ result: 'FAILED', reason: 'REPLAY' });
    expect((await h.unbind(d, token.token, { ts, nonce })).body).toEqual({ result: 'UNBOUND' });
    expect((await h.unbind(d, token.token, { ts, nonce })).body).toEqual({ result: 'FAILED', reason: 'REPLAY' });
  });

  it('given the legacy product with no unbind mechanism, then UNSUPPORTED_PRODUCT', async () => {
    const token = await h.station('owner').issueToken(1);
    expect((await h.unbind(eligible(h, 'plegacy1')[0]!, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNSUPPORTED_PRODUCT' });
  });

  it('given a device below its product minimum firmware, then FIRMWARE_UNSUPPORTED', async () => {
    const old = h.devices((d) => d.pid === 'pfwcam2' && d.bound && d.firmware === '2.0.3')[0]!;
    expect(old).toBeDefined();
    const token = await h.station('owner').issueToken(1);
    expect((await h.unbind(old, token.token)).body).toEqual({ result: 'FAILED', reason: 'FIRMWARE_UNSUPPORTED' });
  });

  it('given a body that does not parse, then 400 {code, message} and nothing is logged', async () => {
    const count = () => h.count('device_logs');
    const before = await count();
    for (const body of ['{', '[]', '{"devId":"x"}', JSON.stringify({ devId: 'pqr1cam-0001', token: 'EU', ts: 1, nonce: 'short', sig: 'zz' }), '\u0000\u0001']) {
      const r = await fetch(`${h.url}/device/v1/unbind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    expect(await count()).toBe(before);
  });
});
