import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAuthority } from '../../src/cloud/authority.js';
import { demoExportSchema, runFleetCommand, startFleet, type DemoExport, type DeviceIdentity, type Fleet, type FleetOptions } from '../../src/device/index.js';
import { planQrCodes, renderQrPng } from '../../src/qr/index.js';
import { startScreenServer, type ScreenServer } from '../device/support/screen-server.js';
import { deviceLogs, issueToken, type Account } from './support/station-client.js';

/**
 * The QR method end to end, every part real: the authority over HTTP, tokens issued by signed
 * station calls, codes rendered to PNG by src/qr and decoded from pixels by the virtual cameras
 * of src/device, which join the bench Wi-Fi and send signed unbind requests.
 */
const WIFI = { ssid: 'bench-lab-01', password: 'pass-1234567' };

let dir: string;
let authority: Awaited<ReturnType<typeof startAuthority>>;
let demo: DemoExport;
let screen: ScreenServer;
let fleet: Fleet | null = null;
const lines: string[] = [];

function account(role: string, region = 'EU'): Account {
  const a = demo.accounts.find((x) => x.role === role && x.region === region);
  if (!a) throw new Error(`no ${role} account in ${region}`);
  return a;
}

/** Bound devices of a product, handed out once each: tests never share a device. */
const handedOut = new Set<string>();
function takeDevices(pid: string, n: number, filter: (d: DeviceIdentity) => boolean = () => true): DeviceIdentity[] {
  const picked = demo.devices.filter((d) => d.pid === pid && d.bound && !handedOut.has(d.devId) && filter(d)).slice(0, n);
  if (picked.length < n) throw new Error(`only ${picked.length} bound ${pid} devices left, need ${n}`);
  for (const d of picked) handedOut.add(d.devId);
  return picked;
}

async function showCode(token: string, wifi = WIFI): Promise<void> {
  screen.show((await renderQrPng({ s: wifi.ssid, p: wifi.password, t: token }, { scale: 4 })).png);
}

async function runFleet(devices: DeviceIdentity[], over: Partial<FleetOptions> = {}): Promise<Fleet> {
  fleet = await startFleet({
    devices,
    regionUrls: { EU: authority.url, AY: authority.url },
    bench: { networks: { [WIFI.ssid]: { password: WIFI.password, dhcp: true }, 'bench-nodhcp': { password: WIFI.password, dhcp: false } } },
    qrSource: { url: screen.url, pollMs: 60_000 }, // the test polls itself
    log: (l) => lines.push(l),
    restartMs: 20,
    ...over,
  });
  await fleet.pollNow();
  await fleet.idle();
  return fleet;
}

const logsOf = (devId: string) => deviceLogs(authority.url, account('owner'), { devId });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qr-unbind-'));
  authority = await startAuthority({ dbPath: join(dir, 'authority.db'), port: 0, host: '127.0.0.1', demo: true, logLevel: 'warn' });
  demo = demoExportSchema.parse(authority.exportDemo());
  screen = await startScreenServer();
});
afterEach(async () => {
  await fleet?.close();
  fleet = null;
  lines.length = 0;
});
afterAll(async () => {
  await screen?.close();
  await authority?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('QR unbind against the real authority', () => {
  it('`unbind fleet` reads the demo export file and unbinds the selected devices', async () => {
    const file = join(dir, 'demo.json');
    await writeFile(file, JSON.stringify(authority.exportDemo()));
    const issued = await issueToken(authority.url, account('owner'), 3);
    await showCode(issued.token, { ssid: 'bench-lab', password: 'bench-pass-2024' }); // the fleet's default Wi-Fi
    const out: string[] = [];
    const stop = new AbortController();
    let during: Promise<void> = Promise.resolve();
    const code = await runFleetCommand(['--devices', file, '--pid', 'pnvr8ch', '--count', '3', '--qr-source', screen.url], {
      out: (l) => out.push(l),
      err: (l) => out.push(`ERR ${l}`),
      signal: stop.signal,
      onReady: (f) => {
        during = (async () => {
          await f.pollNow();
          await f.idle();
          expect(f.status().map((s) => [s.pid, s.state, s.result])).toEqual(Array.from({ length: 3 }, () => ['pnvr8ch', 'unbound', 'UNBOUND']));
        })().finally(() => stop.abort());
      },
    });
    await during;
    expect(code).toBe(0);
    expect(out[0]).toBe('fleet: 3 devices (pnvr8ch 3), Wi-Fi "bench-lab"');
    const logs = await deviceLogs(authority.url, account('owner'), { tokenId: issued.id });
    expect(logs.map((l) => [l.pid, l.result])).toEqual(Array.from({ length: 3 }, () => ['pnvr8ch', 'UNBOUND']));
  });

  it('30 cameras on one code are unbound; the 31st is refused TOKEN_EXHAUSTED', async () => {
    const issued = await issueToken(authority.url, account('owner'), 30);
    expect(issued).toMatchObject({ region: 'EU', capacity: 30 });
    await showCode(issued.token);
    const devices = takeDevices('pqr1cam', 31);
    const f = await runFleet(devices);
    const states = f.status();
    expect(states.filter((s) => s.state === 'unbound' && s.result === 'UNBOUND')).toHaveLength(30);
    const refused = states.filter((s) => s.state === 'failed');
    expect(refused.map((s) => s.lastCode)).toEqual(['TOKEN_EXHAUSTED']);
    const logs = await deviceLogs(authority.url, account('owner'), { tokenId: issued.id });
    expect(logs.filter((l) => l.result === 'UNBOUND').map((l) => l.devId).sort()).toEqual(states.filter((s) => s.state === 'unbound').map((s) => s.devId).sort());
    expect((await logsOf(refused[0]!.devId)).map((l) => l.reason)).toEqual(['TOKEN_EXHAUSTED']);
  });

  it('45 devices on the two codes of the plan (30 + 15), one screen showing both: all unbound', async () => {
    const plan = planQrCodes(45);
    const tokens = await Promise.all(plan.map((c) => issueToken(authority.url, account('owner'), c.capacity)));
    const pngs = await Promise.all(tokens.map((t) => renderQrPng({ s: WIFI.ssid, p: WIFI.password, t: t.token }, { scale: 4 })));
    screen.show(JSON.stringify({ codes: tokens.map((t, i) => ({ id: t.id, png: pngs[i]!.png.toString('base64'), capacity: plan[i]!.capacity })) }));
    const devices = takeDevices('pqr1cam', 45);
    const f = await runFleet(devices);
    expect(f.status().filter((s) => s.state === 'unbound')).toHaveLength(45);
    for (const [i, t] of tokens.entries()) {
      const logs = await deviceLogs(authority.url, account('owner'), { tokenId: t.id });
      const served = devices.slice(plan[i]!.firstDevice, plan[i]!.firstDevice + plan[i]!.capacity).map((d) => d.devId);
      expect(logs.map((l) => l.devId).sort()).toEqual(served.sort());
    }
  });

  it('a wrong Wi-Fi password: WIFI_AUTH on the device, nothing at the authority', async () => {
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token, { ...WIFI, password: 'not-the-password' });
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!]);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'WIFI_AUTH', light: { color: 'red', pattern: 'solid' } });
    expect(await logsOf(device!.devId)).toEqual([]);
  });

  it('no DHCP on the bench network: DHCP_FAILED, nothing at the authority', async () => {
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token, { ...WIFI, ssid: 'bench-nodhcp' });
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!]);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'DHCP_FAILED' });
    expect(await logsOf(device!.devId)).toEqual([]);
  });

  it('a product without an unbind mechanism: UNSUPPORTED_PRODUCT', async () => {
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token);
    const [device] = takeDevices('plegacy1', 1);
    const f = await runFleet([device!]);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'UNSUPPORTED_PRODUCT', result: 'FAILED' });
    expect((await deviceLogs(authority.url, account('owner'), { tokenId: issued.id })).map((l) => [l.devId, l.reason])).toEqual([[device!.devId, 'UNSUPPORTED_PRODUCT']]);
  });

  it('firmware below the product minimum: FIRMWARE_UNSUPPORTED (the device only reports it)', async () => {
    const product = demo.products.find((p) => p.pid === 'pfwcam2')!;
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token);
    const [device] = takeDevices('pfwcam2', 1, (d) => d.firmware < product.minFirmware!);
    const f = await runFleet([device!]);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'FIRMWARE_UNSUPPORTED' });
  });

  it("a token of an account with no rights: UNAUTHORIZED, and the device keeps its binding", async () => {
    const issued = await issueToken(authority.url, account('none'), 5);
    await showCode(issued.token);
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!]);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'UNAUTHORIZED' });
    expect(f.devices[0]!.bound).toBe(true);
    expect((await logsOf(device!.devId)).map((l) => [l.result, l.reason])).toEqual([['FAILED', 'UNAUTHORIZED']]);
  });

  it('a token of another region: REGION_MISMATCH', async () => {
    const issued = await issueToken(authority.url, account('owner', 'AY'), 5);
    expect(issued.region).toBe('AY');
    await showCode(issued.token);
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!]);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'REGION_MISMATCH' });
  });

  it('a device that was not reset sends nothing: NOT_WAITING on the device, no log', async () => {
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token);
    const devices = takeDevices('pqr1cam', 2);
    const f = await runFleet(devices, { faults: { selections: [{ kind: 'notreset', count: 1 }] } });
    expect(f.status().map((s) => [s.state, s.lastCode])).toEqual([
      ['operating', 'NOT_WAITING'],
      ['unbound', null],
    ]);
    expect(await logsOf(devices[0]!.devId)).toEqual([]);
    expect((await logsOf(devices[1]!.devId)).map((l) => l.result)).toEqual(['UNBOUND']);
  });

  it('power loss during the unbind: the unbind stays committed; after restart a new code finds it NOT_BOUND', async () => {
    const first = await issueToken(authority.url, account('owner'), 5);
    await showCode(first.token);
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!], { faults: { selections: [{ kind: 'powerloss', count: 1 }] } });
    expect(f.status()[0]).toMatchObject({ state: 'waiting', result: null });
    expect(f.devices[0]!.bound).toBe(true);
    expect((await logsOf(device!.devId)).map((l) => l.result)).toEqual(['UNBOUND']);
    const second = await issueToken(authority.url, account('owner'), 5);
    await showCode(second.token);
    await f.pollNow();
    await f.idle();
    expect(f.status()[0]).toMatchObject({ state: 'unbound', result: 'NOT_BOUND' });
    expect(f.devices[0]!.bound).toBe(false);
  });

  it('network change during the request: NETWORK_CHANGED on the device, the authority logged the unbind', async () => {
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token);
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!], { faults: { selections: [{ kind: 'netchange', count: 1 }] } });
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'NETWORK_CHANGED' });
    expect((await logsOf(device!.devId)).map((l) => l.result)).toEqual(['UNBOUND']);
  });

  it('the authority unreachable from the bench: CLOUD_UNREACHABLE, no log', async () => {
    const issued = await issueToken(authority.url, account('owner'), 5);
    await showCode(issued.token);
    const [device] = takeDevices('pqr1cam', 1);
    const f = await runFleet([device!], { faults: { selections: [{ kind: 'unreachable', count: 1 }] } });
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'CLOUD_UNREACHABLE' });
    expect(await logsOf(device!.devId)).toEqual([]);
  });
});
