import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * The station's edges, through `unbind start` with a three-camera bench: who may talk to it, what it
 * does with bad input, a device outside the manifest, and devices that never report.
 */
describe('station: guards and QR batch edges', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-edges-'));
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;
  const wifi = { ssid: 'bench-lab', password: 'bench-pass-2024' };

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '3', '--bench-uart', '0', '--no-lan', '--log-level', 'warn']);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers nobody without the per-start key, nor under another Host name', async () => {
    expect((await fetch(`${s.base}/api/session`)).status).toBe(401);
    expect((await fetch(`${s.base}/api/session`, { headers: { 'x-station-key': 'guess' } })).status).toBe(401);
    expect((await fetch(`${s.base}/?key=guess`, { redirect: 'manual' })).status).toBe(401);
    // The route as matched, not the raw path: an encoded /api must not slip past the key.
    expect((await fetch(`${s.base}/%61pi/session`)).status).toBe(401);
    expect((await fetch(`${s.base}/%62ench/screen`)).status).toBe(401);
    // fetch will not send another Host: a raw request stands for a DNS-rebinding page.
    const rebound = await new Promise<number>((resolve, reject) => {
      const u = new URL(s.base);
      request({ host: u.hostname, port: u.port, path: '/api/session', headers: { 'x-station-key': s.key, host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(403);
    // A page on another local port shares the site (SameSite does not see ports): its changes are refused.
    const foreign = await fetch(`${s.base}/api/session`, { method: 'DELETE', headers: { 'x-station-key': s.key, origin: 'http://127.0.0.1:9' } });
    expect(foreign.status).toBe(403);
    const opened = await fetch(`${s.base}/?key=${s.key}`, { redirect: 'manual' });
    expect(opened.status).toBe(302);
    expect(opened.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('refuses bad input with {code, message} and keeps serving', async () => {
    expect(await s.call('GET', '/api/dashboard')).toMatchObject({ status: 401, body: { code: 'SIGNED_OUT' } });
    const raw = await fetch(`${s.base}/api/session`, { method: 'POST', headers: { 'x-station-key': s.key, 'content-type': 'application/json' }, body: '{"demoAccountId":' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({ code: expect.any(String), message: expect.any(String) });
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner' })).status).toBe(400);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Ina' })).status).toBe(200);
    for (const body of [
      { method: 'qr', pid: 'pqr1cam', wifi: { ssid: 'bench-lab', password: 'short' }, deviceCount: 3 },
      { method: 'qr', pid: 'pqr1cam', wifi, deviceCount: 0 },
      { method: 'qr', pid: 'pqr1cam', wifi, deviceCount: 3, admin: true },
      { method: 'carrier-pigeon', pid: 'pqr1cam' },
      { method: 'qr', pid: 'pqr1cam', wifi, manifest: ['=cmd|calc'] },
    ]) {
      const r = await s.call('POST', '/api/batches', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe('BAD_REQUEST');
    }
    expect((await s.call('GET', '/api/history?limit=abc')).status).toBe(400);
    expect((await s.call('GET', '/api/history?cursor=AAAA')).status).toBe(400);
    expect((await s.call('POST', '/api/batches', { method: 'serial', ports: ['/etc/passwd'] })).body).toMatchObject({ code: 'PORT_NOT_CONFIGURED' });
    expect((await s.call('GET', '/api/batches/..%2Fetc')).status).toBe(400);
    expect((await s.call('GET', '/api/nope')).status).toBe(404);
    expect((await s.call('GET', '/api/batches')).status).toBe(200);
  });

  it('a camera outside the manifest is flagged SERIAL_MISMATCH; a manifest serial that never shows up closes NO_REPORT', async () => {
    const bench = (await s.call<Array<{ devId: string; serial: string }>>('GET', '/api/bench')).body;
    const manifest = [bench[0]!.serial, bench[1]!.serial, 'QC1-2611-999999'];
    const started = await s.call('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi, manifest });
    expect(started.status).toBe(201);
    const id: string = started.body.id;
    await s.call('PUT', '/api/screen', { batchId: id, codeIndexes: [0] });
    await until(async () => (await s.call('GET', `/api/batches/${id}`)).body.status === 'completed', 20_000, 'the code exhausted by three cameras');
    const results = ((await s.call('GET', `/api/batches/${id}`)).body.results as Array<{ serial: string; result: string; code: string | null; hint: string | null }>).map((r) => [r.serial, r.result, r.code]);
    expect(results.sort()).toEqual(
      [
        [bench[0]!.serial, 'UNBOUND', null],
        [bench[1]!.serial, 'UNBOUND', null],
        [bench[2]!.serial, 'UNBOUND', 'SERIAL_MISMATCH'],
        ['QC1-2611-999999', 'FAILED', 'NO_REPORT'],
      ].sort(),
    );
  }, 40_000);

  it('devices expected by count that never report are closed NO_REPORT when the code expires', async () => {
    const bench = (await s.call<Array<{ devId: string }>>('GET', '/api/bench')).body;
    for (const d of bench) expect((await s.call('POST', `/api/bench/${d.devId}/reset`)).status).toBe(204);
    const started = await s.call('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi, deviceCount: 5, ttlSeconds: 30 });
    const id: string = started.body.id;
    await s.call('PUT', '/api/screen', { batchId: id, codeIndexes: [0] });
    // Already unbound in the last test: the three cameras come back NOT_BOUND, which costs no quota.
    await until(async () => (await s.call('GET', `/api/batches/${id}`)).body.tally.notBound === 3, 15_000, 'three NOT_BOUND');
    await until(async () => (await s.call('GET', `/api/batches/${id}`)).body.status === 'completed', 45_000, 'the code expired');
    const batch = (await s.call('GET', `/api/batches/${id}`)).body;
    expect(batch.tally).toEqual({ unbound: 0, notBound: 3, failed: 2, pending: 0 });
    const noReport = batch.results.filter((r: { code: string | null }) => r.code === 'NO_REPORT');
    expect(noReport).toHaveLength(2);
    expect(noReport[0].hint).toMatch(/Wi-Fi password|DHCP|not reset/);
  }, 70_000);
});
