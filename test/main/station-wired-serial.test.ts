import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * The wired and serial methods through the station, as `unbind start` runs them: real mDNS and SADP on
 * loopback (ports of this test's own), real HTTP to the virtual devices, real ptys for the UART gateways.
 */
describe('station: wired and serial batches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-wired-'));
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-wired', '12', '--bench-uart', '2', '--mdns-port', '25353', '--sadp-port', '27020', '--log-level', 'warn']);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' })).status).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const lan = async () => (await s.call<Array<{ key: string; source: string; state: string | null; address: string; problem: { code: string } | null; pid: string | null }>>('GET', '/api/lan')).body;

  it('lists the reset devices from mDNS; the one never reset is not among them; the DHCP failure shows from SADP at 0.0.0.0', async () => {
    await until(async () => (await lan()).filter((d) => d.source === 'mdns' && d.state === 'waiting').length === 10, 10_000, '10 waiting devices on the LAN');
    await s.call('POST', '/api/lan/refresh');
    const list = await lan();
    const dhcp = list.find((d) => d.problem?.code === 'DHCP_FAILED');
    expect(dhcp).toMatchObject({ source: 'sadp', address: '0.0.0.0' });
    const bench = (await s.call<Array<{ devId: string; state: string }>>('GET', '/api/bench')).body;
    const notReset = bench.find((d) => d.state === 'operating');
    expect(notReset).toBeDefined();
    expect(list.some((d) => d.key === notReset!.devId && d.source === 'mdns')).toBe(false);
  });

  it('a partner cannot unbind the DVRs it holds no grant for: the plan refuses before any token', async () => {
    const dvr = (await lan()).find((d) => d.pid === 'pdvr4ch' && d.state === 'waiting')!;
    await s.call('POST', '/api/session', { demoAccountId: 'acc-partner', operator: 'Eva' });
    const r = await s.call('POST', '/api/batches', { method: 'wired', devIds: [dvr.key] });
    expect(r).toMatchObject({ status: 409, body: { code: 'UNAUTHORIZED' } });
    await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' });
  });

  it('the owner unbinds every selected wired device in one go; each result is in history as wired', async () => {
    const selected = (await lan()).filter((d) => d.source === 'mdns' && d.state === 'waiting' && !d.problem).map((d) => d.key);
    expect(selected).toHaveLength(10);
    const started = await s.call('POST', '/api/batches', { method: 'wired', devIds: selected });
    expect(started.status).toBe(201);
    const id: string = started.body.id;
    await until(async () => (await s.call('GET', `/api/batches/${id}`)).body.status === 'completed', 30_000, 'wired batch completed');
    const batch = (await s.call('GET', `/api/batches/${id}`)).body;
    expect(batch.tally).toEqual({ unbound: 10, notBound: 0, failed: 0, pending: 0 });
    const history = (await s.call('GET', `/api/history?batchId=${id}`)).body;
    expect(history.items).toHaveLength(10);
    expect(history.items.every((r: { method: string; result: string }) => r.method === 'wired' && r.result === 'UNBOUND')).toBe(true);
  }, 60_000);

  it('UART gateways are unbound over their ports; one whose serial is not on the scanned labels ends SERIAL_MISMATCH', async () => {
    const serial = (await s.call('GET', '/api/serial')).body;
    expect(serial.settings.uartPorts).toHaveLength(2);
    const bench = (await s.call<Array<{ devId: string; serial: string; pid: string }>>('GET', '/api/bench')).body.filter((d) => d.pid === 'pgw1uart');
    const started = await s.call('POST', '/api/batches', { method: 'serial', ports: serial.settings.uartPorts, manifest: [bench[0]!.serial] });
    expect(started.status).toBe(201);
    const id: string = started.body.id;
    await until(async () => (await s.call('GET', `/api/batches/${id}`)).body.status === 'completed', 30_000, 'serial batch completed');
    const results = (await s.call('GET', `/api/batches/${id}`)).body.results as Array<{ serial: string; result: string; code: string | null }>;
    expect(results.map((r) => [r.serial, r.result, r.code]).sort()).toEqual(
      [
        [bench[0]!.serial, 'UNBOUND', null],
        [bench[1]!.serial, 'FAILED', 'SERIAL_MISMATCH'],
      ].sort(),
    );
  }, 60_000);

  it('serial settings are validated and kept', async () => {
    const bad = await s.call('PUT', '/api/serial', { scannerPort: '/dev/x', uartPorts: ['/dev/x'] });
    expect(bad).toMatchObject({ status: 400, body: { code: 'PORT_TWICE' } });
    const serial = (await s.call('GET', '/api/serial')).body;
    const ok = await s.call('PUT', '/api/serial', { scannerPort: null, uartPorts: serial.settings.uartPorts.slice(0, 1) });
    expect(ok.status).toBe(200);
    expect((await s.call('GET', '/api/serial')).body.settings.uartPorts).toHaveLength(1);
  });
});
