import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeStation, type RunningStation, type StationClock } from '../../src/main/compose-station.js';
import { stationConfigSchema } from '../../src/main/station-config.js';
import type { StationEvent } from '../../src/protocol/index.js';
import { stationClient, until } from './station-client.js';

/**
 * The no-report notice (issue 11): a QR batch no device reported on 60 s after its codes were shown
 * says so, with the likely causes. The station runs whole (embedded authority, virtual cameras, real
 * HTTP); only its clock is the test's, so the 60 s pass when the test says, not on the wall clock.
 */
function manualClock(): StationClock & { advance(ms: number): void; pending(): number } {
  let now = Date.now();
  const timers: Array<{ at: number; fn: () => void; on: boolean }> = [];
  return {
    now: () => now,
    setTimer(fn, ms) {
      const t = { at: now + ms, fn, on: true };
      timers.push(t);
      return () => void (t.on = false);
    },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((x) => x.on && x.at <= now)) {
        t.on = false;
        t.fn();
      }
    },
    pending: () => timers.filter((t) => t.on).length,
  };
}

type Batch = { id: string; status: string; notice?: { kind: string; seconds: number; causes: Array<{ code: string; hint: string }> } | null; tally: { unbound: number; pending: number } };

describe('station: the no-report notice of a QR batch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-notice-'));
  const clock = manualClock();
  let station: RunningStation;
  let s: ReturnType<typeof stationClient>;
  const events: StationEvent[] = [];

  beforeAll(async () => {
    const config = stationConfigSchema.parse({ port: 0, authorityPort: 0, dataDir: dir, benchDevices: 2, benchWired: 0, benchUart: 0, lan: false, logLevel: 'warn' });
    station = await composeStation(config, () => undefined, clock);
    station.hub.subscribe((e) => events.push(e));
    s = stationClient(station.url);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' })).status).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await station?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = async (id: string): Promise<Batch> => (await s.call<Batch>('GET', `/api/batches/${id}`)).body;

  it('a batch whose devices report gets no notice when the 60 s have passed', async () => {
    const b = (await s.call<Batch>('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi: { ssid: 'bench-lab', password: 'bench-pass-2024' }, deviceCount: 2 })).body;
    await s.call('PUT', '/api/screen', { batchId: b.id, codeIndexes: [0] });
    await until(async () => (await get(b.id)).status === 'completed', 30_000, 'both cameras reported');
    clock.advance(60_000);
    expect((await get(b.id)).notice ?? null).toBeNull();
    expect(events.some((e) => e.type === 'batch' && e.batch.id === b.id && e.batch.notice)).toBe(false);
  }, 60_000);

  it('a batch nobody reports on says so at 60 s (not at 59), with Wi-Fi, reset and range as the likely causes; cancelled, it carries none', async () => {
    // The wrong Wi-Fi password: the cameras read the code but cannot join, so none reaches the authority.
    const b = (await s.call<Batch>('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi: { ssid: 'bench-lab', password: 'not-the-password' }, deviceCount: 2 })).body;
    await s.call('PUT', '/api/screen', { batchId: b.id, codeIndexes: [0] });
    clock.advance(59_000);
    expect((await get(b.id)).notice ?? null).toBeNull();
    clock.advance(1_000);
    const noticed = await get(b.id);
    expect(noticed.status).toBe('running');
    expect(noticed.notice).toMatchObject({ kind: 'no-report', seconds: 60 });
    expect(noticed.notice!.causes.map((c) => c.code)).toEqual(['WIFI_AUTH', 'NOT_WAITING', 'WIFI_NOT_FOUND']);
    expect(noticed.notice!.causes.every((c) => c.hint.length > 0)).toBe(true);
    // Pushed as a batch event too: the code screen shows it without asking.
    expect(events.some((e) => e.type === 'batch' && e.batch.id === b.id && e.batch.notice?.kind === 'no-report')).toBe(true);
    // Cancelled, the batch carries no notice any more.
    const cancelled = (await s.call<Batch>('POST', `/api/batches/${b.id}/cancel`)).body;
    expect(cancelled.notice ?? null).toBeNull();
  }, 60_000);
});
