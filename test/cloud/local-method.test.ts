import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUrlSafe, signDeviceRequest, type DeviceUnbindResponse } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** DESIGN §4.8: the authority records `method: "local"`, covered by the device's signature (either store). */
describe('authority: local unbinds', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-11-22T09:00:00Z') });
  });
  afterAll(() => h.close());

  async function send(body: Record<string, unknown>): Promise<DeviceUnbindResponse> {
    const res = await fetch(`${h.authority.url}/device/v1/unbind`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return (await res.json()) as DeviceUnbindResponse;
  }
  const signed = (d: { devId: string; deviceKey: string }, token: string, method?: 'local') => {
    const ts = h.now();
    const nonce = randomUrlSafe(24);
    return { devId: d.devId, token, ts, nonce, sig: signDeviceRequest(d.deviceKey, d.devId, token, ts, nonce, method), ...(method ? { method } : {}) };
  };
  const logsOf = async (devId: string) => (await h.station('owner').call('GET', `/api/v1/device-logs?devId=${devId}`)).body.items;

  it('given a local unbind signed with its method, then UNBOUND and the device log says method local; a token unbind says token', async () => {
    const [a, b] = eligible(h, 'pnvr8ch');
    const token = await h.station('owner').issueToken(2, { channel: 'wired' });
    expect(await send(signed(a!, token.token, 'local'))).toEqual({ result: 'UNBOUND' });
    expect(await send(signed(b!, token.token))).toEqual({ result: 'UNBOUND' });
    expect(await logsOf(a!.devId)).toMatchObject([{ result: 'UNBOUND', method: 'local', channel: 'wired' }]);
    expect(await logsOf(b!.devId)).toMatchObject([{ result: 'UNBOUND', method: 'token' }]);
  });

  it('given the method added or stripped on the way, then the signature fails (DEVICE_AUTH) and the binding stays', async () => {
    const [, , c, d] = eligible(h, 'pnvr8ch');
    const token = await h.station('owner').issueToken(2, { channel: 'wired' });
    expect(await send({ ...signed(c!, token.token), method: 'local' })).toEqual({ result: 'FAILED', reason: 'DEVICE_AUTH' });
    const { method: _stripped, ...noMethod } = signed(d!, token.token, 'local');
    expect(await send(noMethod)).toEqual({ result: 'FAILED', reason: 'DEVICE_AUTH' });
    expect(await h.scalar('SELECT COUNT(*) FROM bindings WHERE dev_id IN (?, ?)', c!.devId, d!.devId)).toBe(2);
  });
});
