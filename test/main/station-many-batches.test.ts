import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * Several batches at once through `unbind start` (issue 11): a QR batch and a wired batch side by
 * side, two QR batches for two products on one screen. Each reaches its end with exact tallies; none
 * is lost when another starts.
 */
const wifi = { ssid: 'bench-lab', password: 'bench-pass-2024' };
type Batch = { id: string; status: string; stop?: unknown; method: string; pid: string; tally: { unbound: number; notBound: number; failed: number; pending: number }; results: Array<{ devId: string; pid: string | null; result: string; code: string | null }> };

describe('station: a QR batch and a wired batch at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-many-'));
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '15', '--bench-qr-faults', 'notreset=7', '--bench-wired', '8', '--bench-wired-faults', '', '--bench-uart', '0', '--mdns-port', '26353', '--sadp-port', '28020', '--log-level', 'warn']);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' })).status).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const batch = async (id: string): Promise<Batch> => (await s.call<Batch>('GET', `/api/batches/${id}`)).body;

  it('with 7 devices of the QR batch pending, a wired batch starts; both reach their end with exact tallies, the 7 reset later read the code still shown', async () => {
    const qr = await s.call<Batch>('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi, deviceCount: 15 });
    expect(qr.status).toBe(201);
    await s.call('PUT', '/api/screen', { batchId: qr.body.id, codeIndexes: [0] });
    // 8 cameras were reset and unbind; 7 were not (fault notreset): they stay pending.
    await until(async () => (await batch(qr.body.id)).tally.unbound === 8, 20_000, '8 cameras unbound');
    expect((await batch(qr.body.id)).tally).toEqual({ unbound: 8, notBound: 0, failed: 0, pending: 7 });
    await until(async () => (await s.call<Array<{ source: string; state: string | null; problem: unknown }>>('GET', '/api/lan')).body.filter((d) => d.source === 'mdns' && d.state === 'waiting' && !d.problem).length === 8, 15_000, '8 waiting wired devices');
    const devIds = (await s.call<Array<{ key: string; source: string; state: string | null; problem: unknown }>>('GET', '/api/lan')).body.filter((d) => d.source === 'mdns' && d.state === 'waiting' && !d.problem).map((d) => d.key);
    const wired = await s.call<Batch>('POST', '/api/batches', { method: 'wired', devIds });
    expect(wired.status).toBe(201);
    // The wired batch has no codes: the screen still shows the QR batch's.
    const screen = (await s.call<{ codes: Array<{ id: string }> }>('GET', '/bench/screen')).body;
    expect(screen.codes.map((c) => c.id.split(':')[0])).toContain(qr.body.id);

    const listed = (await s.call<Batch[]>('GET', '/api/batches')).body.map((b) => b.id);
    expect(listed).toEqual(expect.arrayContaining([qr.body.id, wired.body.id]));
    await until(async () => (await batch(wired.body.id)).status === 'completed', 30_000, 'wired batch completed');
    expect((await batch(qr.body.id)).status).toBe('running');
    // The operator resets the 7 cameras now: they read the QR batch's code, still on the screen.
    const bench = (await s.call<Array<{ devId: string; pid: string; state: string }>>('GET', '/api/bench')).body.filter((d) => d.pid === 'pqr1cam' && d.state === 'operating');
    expect(bench).toHaveLength(7);
    for (const d of bench) expect((await s.call('POST', `/api/bench/${d.devId}/reset`)).status).toBe(204);
    await until(async () => (await batch(qr.body.id)).status === 'completed', 30_000, 'QR batch completed');
    expect((await batch(qr.body.id)).tally).toEqual({ unbound: 15, notBound: 0, failed: 0, pending: 0 });
    expect((await batch(wired.body.id)).tally).toEqual({ unbound: 8, notBound: 0, failed: 0, pending: 0 });
    expect((await batch(wired.body.id)).stop ?? null).toBeNull();
  }, 60_000);
});

describe('station: two QR batches for two products on one screen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-two-qr-'));
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '12', '--bench-qr-products', 'pqr1cam,pfwcam2', '--bench-uart', '0', '--no-lan', '--log-level', 'warn']);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' })).status).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each code is held before its own product’s cameras; showing the second keeps the first; both end with all six unbound', async () => {
    const a = (await s.call<Batch>('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi, deviceCount: 6 })).body;
    const b = (await s.call<Batch>('POST', '/api/batches', { method: 'qr', pid: 'pfwcam2', wifi, deviceCount: 6 })).body;
    await s.call('PUT', '/api/screen', { batchId: a.id, codeIndexes: [0] });
    await s.call('PUT', '/api/screen', { batchId: b.id, codeIndexes: [0] });
    const screen = (await s.call<{ codes: Array<{ id: string; pid?: string }> }>('GET', '/bench/screen')).body;
    expect(screen.codes.map((c) => [c.id, c.pid])).toEqual([
      [`${a.id}:0`, 'pqr1cam'],
      [`${b.id}:0`, 'pfwcam2'],
    ]);
    const get = async (id: string): Promise<Batch> => (await s.call<Batch>('GET', `/api/batches/${id}`)).body;
    await until(async () => (await get(a.id)).status === 'completed' && (await get(b.id)).status === 'completed', 40_000, 'both QR batches completed');
    for (const [batch, pid] of [
      [await get(a.id), 'pqr1cam'],
      [await get(b.id), 'pfwcam2'],
    ] as const) {
      expect(batch.tally).toEqual({ unbound: 6, notBound: 0, failed: 0, pending: 0 });
      expect(batch.results.every((r) => r.pid === pid)).toBe(true);
    }
  }, 60_000);
});
