import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** Bad input gets a clear error and loses nothing; logs and the store never hold a secret in clear. */
describe('hostile input and secrets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(
        ['tokens', 'device_logs', 'bindings', 'shares', 'quota_usage', 'quota_tickets', 'partner_grants', 'roles', 'space_members'].map(async (t) => [t, await h.count(t)]),
      ),
    );

  it('malformed station bodies get 400 {code, message} and change nothing', async () => {
    const owner = h.station('owner');
    const before = await snapshot();
    const cases: Array<[string, string, string | undefined]> = [
      ['POST', '/api/v1/unbind-tokens', '{"capacity":'],
      ['POST', '/api/v1/unbind-tokens', JSON.stringify({ capacity: 31, channel: 'qr' })],
      ['POST', '/api/v1/unbind-tokens', JSON.stringify({ capacity: 0, channel: 'qr' })],
      ['POST', '/api/v1/unbind-tokens', JSON.stringify({ capacity: 5, channel: 'pigeon' })],
      ['POST', '/api/v1/unbind-tokens', JSON.stringify({ capacity: 5, channel: 'qr', admin: true })],
      ['POST', '/api/v1/unbind-tokens', JSON.stringify({ capacity: '5', channel: 'qr' })],
      ['POST', '/api/v1/unbind-tokens', 'null'],
      ['POST', '/api/v1/quota-tickets', JSON.stringify({ scope: 'account', pid: 'pqr1cam', limit: 5, from: '2026-12-02', to: '2026-12-01', reason: 'x' })],
      ['POST', '/api/v1/authorizations/partners', JSON.stringify({ pid: "pqr1cam'; DROP TABLE accounts;--", accountId: 'acc-none' })],
      ['POST', '/api/v1/authorizations/roles', JSON.stringify({ name: 'x'.repeat(65), canUnbind: true })],
      ['GET', '/api/v1/unbind-tokens/..%2F..%2Fetc', undefined],
    ];
    for (const [method, path, raw] of cases) {
      const r = await owner.call(method, path, undefined, raw === undefined ? {} : { rawBody: raw });
      expect(r.status, `${method} ${path} ${raw}`).toBe(400);
      expect(r.body, `${method} ${path} ${raw}`).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a wrong content type, invalid UTF-8 and an oversized body are refused without a 500', async () => {
    const wrongType = await fetch(`${h.url}/device/v1/unbind`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(wrongType.status).toBe(400);
    const badUtf8 = await fetch(`${h.url}/device/v1/unbind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(badUtf8.status).toBe(400);
    const huge = await fetch(`${h.url}/device/v1/unbind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(200_000) }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ code: expect.any(String), message: expect.any(String) });
    const unknown = await fetch(`${h.url}/nope`);
    expect(unknown.status).toBe(404);
    // The server is still serving.
    expect((await h.station('owner').call('GET', '/api/v1/me')).status).toBe(200);
  });

  it('no log line and no stored column holds an account secret, a token secret or a device key', async () => {
    const owner = h.station('owner');
    const token = await owner.issueToken(5);
    const dev = eligible(h, 'pqr1cam')[0]!;
    await h.unbind(dev, token.token);
    await h.unbind(eligible(h, 'plegacy1')[0]!, token.token);
    await h.unbind(dev, token.token.slice(0, 10) + 'QQQQQQ');
    const secretPart = token.token.slice(10);
    const logText = h.logs.join('');
    expect(logText).toContain('token-issued');
    expect(logText).toContain('device unbind');
    for (const secret of [owner.account.secret, token.token, dev.deviceKey, ...h.demo.accounts.map((a) => a.secret)]) expect(logText).not.toContain(secret);

    // Sealed under the master key, which lives beside the node: the same on both stores.
    const dump = await h.dump(['accounts', 'devices', 'tokens', 'device_logs', 'token_issue_keys']);
    for (const a of h.demo.accounts) expect(dump).not.toContain(a.secret);
    expect(dump).not.toContain(dev.deviceKey);
    expect(dump).not.toContain(token.token);
    expect(dump).not.toMatch(new RegExp(`"${secretPart}"`));
  });
});
