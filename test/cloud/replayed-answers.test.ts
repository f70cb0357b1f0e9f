import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUrlSafe, signDeviceRequest } from '../../src/protocol/index.js';
import { eligible, startHarness, type DemoDevice, type Harness } from '../support/authority-harness.js';
import { AUTHORITY_STORE } from '../support/authority-store.js';

/** DESIGN §4.3: a device that lost its answer and asks again (same devId and token, new nonce) is told what was decided. */
describe('replayed answers', () => {
  let h: Harness;
  const start = Date.parse('2026-11-23T09:00:00Z');
  beforeAll(async () => {
    h = await startHarness({ fakeClockStart: start });
  });
  afterAll(() => h.close());

  const count = (sql: string, ...args: unknown[]): Promise<number> => h.scalar(sql, ...args);
  const logRows = (devId: string): Promise<number> => count('SELECT COUNT(*) AS n FROM device_logs WHERE dev_id = ?', devId);
  const quotaUsed = (): Promise<number> => count("SELECT COALESCE(SUM(used), 0) AS n FROM quota_usage WHERE scope = 'account'");
  let next = 0;
  const fresh = (pid: string): DemoDevice => eligible(h, pid)[next++]!;

  it('given an UNBOUND whose answer was lost, when the device retries, then UNBOUND replayed: no new log row, no quota, no place spent', async () => {
    const d = fresh('pqr1cam');
    const token = await h.station('owner').issueToken(3);
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'UNBOUND' });
    const [rows, used] = [await logRows(d.devId), await quotaUsed()];
    for (let i = 0; i < 3; i++) expect((await h.unbind(d, token.token)).body).toEqual({ result: 'UNBOUND', replayed: true });
    expect(await logRows(d.devId)).toBe(rows);
    expect(await quotaUsed()).toBe(used);
    expect((await h.station('owner').call('GET', `/api/v1/unbind-tokens/${token.id}`)).body).toMatchObject({ used: 1 });
  });

  it('given a NOT_BOUND, when the device retries, then NOT_BOUND replayed', async () => {
    const d = h.devices((x) => x.pid === 'pnvr8ch' && !x.bound)[0]!;
    const token = await h.station('owner').issueToken(2);
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'NOT_BOUND' });
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'NOT_BOUND', replayed: true });
  });

  it('given a decided pair, when the retry comes after the token expired or was used up, then still the decided answer', async () => {
    const [a, b] = [fresh('pqr1cam'), fresh('pqr1cam')];
    const token = await h.station('owner').issueToken(1, { ttlSeconds: 60 });
    expect((await h.unbind(a, token.token)).body).toEqual({ result: 'UNBOUND' });
    expect((await h.unbind(b, token.token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_EXHAUSTED' });
    expect((await h.unbind(a, token.token)).body).toEqual({ result: 'UNBOUND', replayed: true });
    h.setNow(h.now() + 120_000);
    expect((await h.unbind(a, token.token)).body).toEqual({ result: 'UNBOUND', replayed: true });
    expect((await h.unbind(b, token.token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_EXPIRED' });
  });

  it('given a decided pair, then a request that is not the device’s own is never told it and changes nothing: bad signature, stale ts, reused nonce, wrong secret', async () => {
    const d = fresh('pqr1cam');
    const token = await h.station('owner').issueToken(2);
    const nonce = randomUrlSafe(24);
    expect((await h.unbind(d, token.token, { nonce })).body).toEqual({ result: 'UNBOUND' });
    const rows = await logRows(d.devId);
    expect((await h.unbind(d, token.token, { sig: 'f'.repeat(64) })).body).toEqual({ result: 'FAILED', reason: 'DEVICE_AUTH' });
    const otherKey = signDeviceRequest('not-the-device-key', d.devId, token.token, h.now(), randomUrlSafe(24));
    expect((await h.unbind(d, token.token, { sig: otherKey })).body).toEqual({ result: 'FAILED', reason: 'DEVICE_AUTH' });
    expect((await h.unbind(d, token.token, { ts: h.now() - 301_000 })).body).toEqual({ result: 'FAILED', reason: 'REPLAY' });
    expect((await h.unbind(d, token.token, { nonce })).body).toEqual({ result: 'FAILED', reason: 'REPLAY' });
    const wrongSecret = token.token.slice(0, 10) + (token.token.slice(10) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA');
    expect((await h.unbind(d, wrongSecret)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_INVALID' });
    // Each refusal is logged as what it is (repeats of one reason folded into one row with its count);
    // none wrote a decision or replayed one.
    expect(await count('SELECT SUM(count) AS n FROM device_logs WHERE dev_id = ?', d.devId)).toBe(rows + 5);
    expect(await logRows(d.devId)).toBe(rows + 3);
    expect(await count('SELECT COUNT(*) AS n FROM decided_answers WHERE dev_id = ?', d.devId)).toBe(1);
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'UNBOUND', replayed: true });
  });

  it('given a device bound again after its unbind, when it comes back with the same token, then TOKEN_REUSED (a different use of a spent place)', async () => {
    const d = fresh('pqr1cam');
    const token = await h.station('owner').issueToken(2);
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'UNBOUND' });
    await h.authority.store.registry.bind(d.devId, 'c-0002', h.now());
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'TOKEN_REUSED' });
  });

  it('given a refusal, when the device retries, then it is decided again (a refusal changed nothing), never replayed', async () => {
    const d = h.devices((x) => x.pid === 'plegacy1' && x.bound)[0]!;
    const token = await h.station('owner').issueToken(2);
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNSUPPORTED_PRODUCT' });
    expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNSUPPORTED_PRODUCT' });
    expect(await count('SELECT COUNT(*) AS n FROM decided_answers WHERE dev_id = ?', d.devId)).toBe(0);
  });

  // SQLite's own: its group commit / its files (on PostgreSQL each request is its own transaction).
  it.skipIf(AUTHORITY_STORE === 'pg')('given a request and its retry decided in one group commit, then the first decides and the second is told the same, replayed', async () => {
    const d = fresh('pdvr4ch');
    const token = await h.station('owner').issueToken(2);
    const req = () => {
      const ts = h.now();
      const nonce = randomUrlSafe(24);
      return { devId: d.devId, token: token.token, ts, nonce, sig: signDeviceRequest(d.deviceKey, d.devId, token.token, ts, nonce) };
    };
    const out = h.authority.services.unbind.unbindMany([req(), req()]);
    expect(out.map((o) => (o instanceof Error ? o.message : { result: o.result, replayed: o.replayed ?? false }))).toEqual([
      { result: 'UNBOUND', replayed: false },
      { result: 'UNBOUND', replayed: true },
    ]);
    const decided = h.authority.services.db.prepare('SELECT result, log_id FROM decided_answers WHERE dev_id = ?').all(d.devId) as Array<{ result: string; log_id: number }>;
    expect(decided).toHaveLength(1);
    expect(h.authority.services.db.prepare('SELECT result, dev_id FROM device_logs WHERE id = ?').get(decided[0]!.log_id)).toEqual({ result: 'UNBOUND', dev_id: d.devId });
  });
});
