import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUrlSafe } from '../../src/protocol/index.js';
import { startHarness, type Harness } from '../support/authority-harness.js';
import { sendCraftedStationRequest } from '../support/crafted-station-request.js';

describe('station API signing (DESIGN §4.4) over real HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('given a correctly signed request, when it asks /me, then it gets its own account without the secret', async () => {
    const r = await h.station('partner').call('GET', '/api/v1/me');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ accountId: 'acc-partner', name: 'FixIt Returns', clientId: h.station('partner').account.clientId, region: 'EU', verifiedInstaller: true });
    expect(JSON.stringify(r.body)).not.toContain(h.station('partner').account.secret);
  });

  it('given a forged signature, then 401 SIGN_INVALID', async () => {
    const r = await h.station('owner').call('GET', '/api/v1/me', undefined, { tamper: (hd) => (hd.sign = hd.sign!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))) });
    expect(r).toEqual({ status: 401, body: { code: 'SIGN_INVALID', message: expect.any(String) } });
  });

  it('given a body changed after signing, then 401 SIGN_INVALID and no token is issued', async () => {
    const owner = h.station('owner');
    const tokens = () => h.count('tokens');
    const before = await tokens();
    const res = await sendCraftedStationRequest(h.url, owner.account, 'POST', '/api/v1/unbind-tokens', {
      signedBody: JSON.stringify({ capacity: 1, channel: 'qr' }),
      body: JSON.stringify({ capacity: 30, channel: 'qr' }),
      now: h.now,
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('SIGN_INVALID');
    expect(await tokens()).toBe(before);
  });

  it('given a path or query changed after signing, then 401 SIGN_INVALID', async () => {
    const owner = h.station('owner');
    const res = await sendCraftedStationRequest(h.url, owner.account, 'GET', '/api/v1/device-logs?limit=6', { signedPath: '/api/v1/device-logs?limit=5', now: h.now });
    expect(res.status).toBe(401);
  });

  it('given t more than 5 minutes off, then 401 CLOCK_SKEW; 4 minutes is accepted', async () => {
    const late = await h.station('owner').call('GET', '/api/v1/me', undefined, { t: h.now() - 301_000 });
    expect(late).toMatchObject({ status: 401, body: { code: 'CLOCK_SKEW' } });
    const early = await h.station('owner').call('GET', '/api/v1/me', undefined, { t: h.now() + 301_000 });
    expect(early).toMatchObject({ status: 401, body: { code: 'CLOCK_SKEW' } });
    const ok = await h.station('owner').call('GET', '/api/v1/me', undefined, { t: h.now() - 240_000 });
    expect(ok.status).toBe(200);
  });

  it('given a nonce seen before, then 401 NONCE_REUSED', async () => {
    const nonce = randomUrlSafe(24);
    expect((await h.station('owner').call('GET', '/api/v1/me', undefined, { nonce })).status).toBe(200);
    expect(await h.station('owner').call('GET', '/api/v1/me', undefined, { nonce })).toMatchObject({ status: 401, body: { code: 'NONCE_REUSED' } });
  });

  it('given a forged request with a fresh nonce, then that nonce is not burned for the real account', async () => {
    const nonce = randomUrlSafe(24);
    await h.station('owner').call('GET', '/api/v1/me', undefined, { nonce, tamper: (hd) => (hd.sign = '0'.repeat(64).toUpperCase()) });
    expect((await h.station('owner').call('GET', '/api/v1/me', undefined, { nonce })).status).toBe(200);
  });

  it('given an unknown client_id, then 401 CLIENT_UNKNOWN', async () => {
    const r = await h.station('owner').call('GET', '/api/v1/me', undefined, { tamper: (hd) => (hd.client_id = 'nobody-at-all') });
    expect(r).toMatchObject({ status: 401, body: { code: 'CLIENT_UNKNOWN' } });
  });

  it('given no signing headers, then 401 SIGN_MISSING (not 400), naming the headers to send', async () => {
    const none = await fetch(`${h.url}/api/v1/me`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ code: 'SIGN_MISSING', message: 'the request is not signed: send the headers client_id, t, nonce, sign_method, sign' });
  });

  it('given some signing headers only, then 401 SIGN_MISSING naming the missing ones', async () => {
    const noSign = await h.station('owner').call('GET', '/api/v1/me', undefined, { tamper: (hd) => delete hd.sign });
    expect(noSign).toEqual({ status: 401, body: { code: 'SIGN_MISSING', message: 'signing header missing: sign' } });
    const onlyClient = await fetch(`${h.url}/api/v1/me`, { headers: { client_id: h.station('owner').account.clientId } });
    expect(onlyClient.status).toBe(401);
    expect(await onlyClient.json()).toEqual({ code: 'SIGN_MISSING', message: 'signing headers missing: t, nonce, sign_method, sign' });
  });

  it('given a malformed signing header, then 401 SIGN_MALFORMED naming the header', async () => {
    const md5 = await h.station('owner').call('GET', '/api/v1/me', undefined, { tamper: (hd) => (hd.sign_method = 'MD5') });
    expect(md5).toMatchObject({ status: 401, body: { code: 'SIGN_MALFORMED', message: expect.stringContaining('header.sign_method') } });
    const t = await h.station('owner').call('GET', '/api/v1/me', undefined, { tamper: (hd) => (hd.t = 'yesterday') });
    expect(t).toMatchObject({ status: 401, body: { code: 'SIGN_MALFORMED', message: expect.stringContaining('header.t') } });
  });
});
