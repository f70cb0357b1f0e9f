import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * The station killed during a QR batch and started again: it reconciles with the authority and the
 * batch's results come out complete and exact. Real processes: authority, station, fleet; real HTTP.
 */
describe('station restart during a batch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-restart-'));
  const procs: RunningProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('given results that arrive while the station is down, when it restarts, then the batch completes with each result exactly once', async () => {
    const authority = runUnbind(['authority', '--port', '0', '--db', join(dir, 'authority.db'), '--demo', '--export-demo', join(dir, 'demo.json'), '--log-level', 'warn']);
    procs.push(authority);
    const authorityUrl = (await authority.waitFor(/listening on (http:\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);

    // No LAN sweep: this batch is QR, and the sweep's default mDNS/SADP ports (5353, 37020) belong to no test file.
    const stationArgs = ['start', '--port', '0', '--authority', authorityUrl, '--demo-export', join(dir, 'demo.json'), '--no-bench', '--no-lan', '--data', join(dir, 'station')];
    let station = runUnbind(stationArgs);
    procs.push(station);
    let s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);

    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Ana' })).status).toBe(200);
    const started = await s.call('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi: { ssid: 'bench-lab', password: 'bench-pass-2024' }, deviceCount: 20, ttlSeconds: 120 });
    expect(started.status).toBe(201);
    const batchId: string = started.body.id;
    expect(started.body.codes).toHaveLength(1);
    expect((await s.call('PUT', '/api/screen', { batchId, codeIndexes: [0] })).status).toBe(204);

    // Twenty cameras, each slow to reach the cloud: all of them are mid-request when the station dies.
    const fleet = runUnbind(['fleet', '--devices', join(dir, 'demo.json'), '--pid', 'pqr1cam', '--count', '20', '--qr-source', `${s.base}/bench/screen?key=${s.key}`, '--poll-ms', '100', '--faults', 'latency=1500ms']);
    procs.push(fleet);
    const count = (re: RegExp) => fleet.output.filter((l) => re.test(l)).length;
    await until(() => count(/waiting→unbinding/) === 20, 20_000, '20 cameras decoding the code');
    await station.kill('SIGKILL');
    await until(() => count(/unbinding→unbound/) === 20, 20_000, '20 cameras unbound while the station is down');

    station = runUnbind(stationArgs);
    procs.push(station);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Ana' })).status).toBe(200);

    await until(async () => (await s.call('GET', `/api/batches/${batchId}`)).body.status === 'completed', 10_000, 'batch completed after reconciling');
    const batch = (await s.call('GET', `/api/batches/${batchId}`)).body;
    expect(batch.tally).toEqual({ unbound: 20, notBound: 0, failed: 0, pending: 0 });
    expect(batch.results).toHaveLength(20);
    expect(new Set(batch.results.map((r: { devId: string }) => r.devId)).size).toBe(20);
    expect(batch.codes[0]).toMatchObject({ used: 20, capacity: 20, status: 'exhausted' });
    // The Wi-Fi password is not kept: codes need it again after the restart.
    expect((await s.call('GET', `/api/batches/${batchId}/codes/0.svg`)).body?.code ?? 'svg').toBe('CODES_LOCKED');

    // A second restart reads the same results again from the authority and stores none twice.
    await station.kill('SIGTERM');
    station = runUnbind(stationArgs);
    procs.push(station);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);
    await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Ana' });
    const history = await s.call('GET', `/api/history?batchId=${batchId}&limit=100`);
    expect(history.status).toBe(200);
    expect(history.body.items).toHaveLength(20);
    expect(history.body.items.every((r: { result: string; operator: string }) => r.result === 'UNBOUND' && r.operator === 'Ana')).toBe(true);
  }, 90_000);
});
