import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceLogViewSchema, randomUrlSafe, signDeviceRequest, type DeviceLogView } from '../../src/protocol/index.js';
import { FOLD_GAP_MS } from '../../src/cloud/device-logs.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** Repeated identical failures fold into one device log row with a count and first/last time (issue 9). */
describe('folded device log rows', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-12-01T09:00:00Z') });
  });
  afterAll(() => h.close());

  const logsOf = async (devId: string): Promise<DeviceLogView[]> => {
    const r = await h.station('owner').call('GET', `/api/v1/device-logs?devId=${devId}`);
    expect(r.status).toBe(200);
    return (r.body.items as unknown[]).map((i) => deviceLogViewSchema.parse(i)).reverse();
  };
  const forge = (d: { devId: string }, token: string) => h.unbind(d as never, token, { sig: signDeviceRequest(randomUrlSafe(32), d.devId, token, h.now(), 'x') });

  it('given forged requests, a legitimate unbind between them and a pause longer than the fold gap, then one row per run of the same failure', async () => {
    const d = eligible(h, 'pnvr8ch')[0]!;
    const token = (await h.station('owner').issueToken(5)).token;
    const t0 = h.now();
    for (let i = 0; i < 3; i++) {
      expect((await forge(d, token)).body).toEqual({ result: 'FAILED', reason: 'DEVICE_AUTH' });
      h.setNow(h.now() + 1_000);
    }
    expect(await logsOf(d.devId)).toMatchObject([
      { result: 'FAILED', reason: 'DEVICE_AUTH', count: 3, at: new Date(t0).toISOString(), firstAt: new Date(t0).toISOString(), lastAt: new Date(t0 + 2_000).toISOString() },
    ]);

    expect((await h.unbind(d, token)).body).toEqual({ result: 'UNBOUND' });
    await forge(d, token);
    const afterUnbind = await logsOf(d.devId);
    expect(afterUnbind.map((r) => [r.result, r.reason, r.count])).toEqual([
      ['FAILED', 'DEVICE_AUTH', 4],
      ['UNBOUND', null, 1],
    ]);
    expect(afterUnbind[1]).toMatchObject({ firstAt: afterUnbind[1]!.at, lastAt: afterUnbind[1]!.at, operator: 'acc-owner' });

    h.setNow(h.now() + FOLD_GAP_MS + 1);
    await forge(d, token);
    expect((await logsOf(d.devId)).map((r) => [r.reason, r.count])).toEqual([
      ['DEVICE_AUTH', 4],
      [null, 1],
      ['DEVICE_AUTH', 1],
    ]);
  });

  it('given replays, then they fold apart from bad signatures; given a token refusal repeated, then each stays its own row (a station follows them)', async () => {
    const d = eligible(h, 'pnvr8ch')[1]!;
    const token = (await h.station('owner').issueToken(5)).token;
    const nonce = randomUrlSafe(24);
    expect((await h.unbind(d, token, { nonce })).body).toEqual({ result: 'UNBOUND' });
    expect((await h.unbind(d, token, { nonce })).body).toEqual({ result: 'FAILED', reason: 'REPLAY' });
    expect((await h.unbind(d, token, { nonce })).body).toEqual({ result: 'FAILED', reason: 'REPLAY' });
    await forge(d, token);
    // The device's own retries (new nonce) are told what was decided, and write nothing (§4.3).
    expect((await h.unbind(d, token)).body).toEqual({ result: 'UNBOUND', replayed: true });
    // A device bound again since its decision is a different use of the spent place: a token refusal,
    // which names the token, so each stays its own row.
    await h.authority.store.registry.bind(d.devId, 'c-0002', h.now());
    expect((await h.unbind(d, token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_REUSED' });
    expect((await h.unbind(d, token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_REUSED' });
    expect((await logsOf(d.devId)).map((r) => [r.result, r.reason, r.count])).toEqual([
      ['UNBOUND', null, 1],
      ['FAILED', 'REPLAY', 2],
      ['FAILED', 'DEVICE_AUTH', 1],
      ['FAILED', 'TOKEN_REUSED', 1],
      ['FAILED', 'TOKEN_REUSED', 1],
    ]);
  });
});
