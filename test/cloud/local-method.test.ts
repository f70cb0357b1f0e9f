import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { computeResetCode, randomUrlSafe, signDeviceRequest, type DeviceUnbindResponse } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** DESIGN §4.8: the authority records `method: "local"`, covered by the device's signature; §4.9: reset codes. */
describe('authority: local unbinds and reset codes', () => {
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
    const ts = h.authority.services.clock();
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
    expect(h.authority.services.registry.bindingOf(c!.devId)).toBeDefined();
    expect(h.authority.services.registry.bindingOf(d!.devId)).toBeDefined();
  });

  it('given a device and a challenge, then resetCodeFor is the first 12 base32 characters of HMAC(device key, reset|devId|challenge); unknown devices are refused', () => {
    const dev = eligible(h, 'pnvr8ch')[10]!;
    const challenge = randomUrlSafe(32);
    const code = h.authority.services.resetCodeFor(dev.devId, challenge);
    expect(code).toBe(computeResetCode(dev.deviceKey, dev.devId, challenge));
    expect(code).toMatch(/^[A-Z2-7]{12}$/);
    expect(() => h.authority.services.resetCodeFor('pnvr8ch-9999', challenge)).toThrow(/no device/);
    expect(() => h.authority.services.resetCodeFor(dev.devId, 'short')).toThrow(/challenge/);
  });
});

describe('authority migration 0004: device log method', () => {
  it('given device log rows written at version 3, when migrated to 4, then each is method token, and only token or local is accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authority-migration-0004-'));
    try {
      const path = join(dir, 'authority.db');
      const v3 = openAuthorityDb(path, 3);
      v3.prepare("INSERT INTO device_logs (at, dev_id, serial, pid, region, result, reason, count, last_at) VALUES (1, 'dev-a', 'SN-1', 'p1', 'EU', 'UNBOUND', NULL, 1, 1)").run();
      expect(v3.prepare('SELECT * FROM device_logs').get()).not.toHaveProperty('method');
      v3.close();
      const v4 = openAuthorityDb(path, 4);
      try {
        expect(v4.prepare('SELECT dev_id, result, method FROM device_logs').all()).toEqual([{ dev_id: 'dev-a', result: 'UNBOUND', method: 'token' }]);
        expect(() => v4.prepare("INSERT INTO device_logs (at, dev_id, result, method) VALUES (2, 'dev-b', 'FAILED', 'sadp')").run()).toThrow(/CHECK/);
      } finally {
        v4.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
