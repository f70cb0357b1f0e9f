import { afterEach, describe, expect, it } from 'vitest';
import { parseWiredFaultSpec, startWiredBench, type DeviceIdentity, type WiredBench, type WiredBenchOptions } from '../../../src/device/index.js';
import { fleetStatusSchema } from '../../../src/protocol/virtual-bench.js';
import { generateToken } from '../../../src/protocol/index.js';
import { startLanSweep, type LanSweep } from '../../../src/wired/index.js';
import { LAN_PORTS, waitFor } from '../../wired/support/lan.js';
import { makeIdentity } from '../support/identities.js';
import { startStrictAuthority, type StrictAuthority } from '../support/strict-authority.js';

/**
 * The wired bench's devices as the station meets them: their local API on their own address, their
 * mDNS advert only while reset, the signed request to the authority (a strict stand-in here: the
 * real one is in test/wired), the status port that resets them.
 */
const PORTS = LAN_PORTS.wiredBench;
let bench: WiredBench | null = null;
let authority: StrictAuthority | null = null;
let sweep: LanSweep | null = null;
let identities: DeviceIdentity[] = [];

const nvr = (n: number): DeviceIdentity => makeIdentity(n, { devId: `bnvr-${String(n).padStart(4, '0')}`, serial: `NV8-BENCH-${String(n).padStart(6, '0')}`, pid: 'pnvr8ch', firmware: '4.0.1' });

async function start(count: number, over: Partial<WiredBenchOptions> & { faultSpec?: string } = {}): Promise<WiredBench> {
  identities = Array.from({ length: count }, (_, i) => nvr(i + 1));
  authority = await startStrictAuthority(Object.fromEntries(identities.map((d) => [d.devId, d.deviceKey])));
  const { faultSpec, ...rest } = over;
  bench = await startWiredBench({
    devices: identities,
    regionUrls: { EU: authority.url },
    mdnsPort: PORTS.mdns,
    sadpPort: PORTS.sadp,
    sadp: false,
    log: () => undefined,
    announceDebounceMs: 10,
    withdrawAfterMs: 200,
    ...(faultSpec ? { faults: parseWiredFaultSpec(faultSpec) } : {}),
    ...rest,
  });
  return bench;
}

async function api(b: WiredBench, devId: string, method: string, path: string, body?: string): Promise<{ status: number; json: any }> {
  const at = b.endpoint(devId)!;
  const res = await fetch(`http://${at.address}:${at.port}${path}`, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, json: await res.json() };
}

afterEach(async () => {
  await sweep?.close();
  await bench?.close();
  await authority?.close();
  sweep = bench = authority = null;
});

describe('wired bench devices', () => {
  it('given a bench, then each device serves its local API on its own loopback address', async () => {
    const b = await start(3);
    const endpoints = b.devices.map((d) => b.endpoint(d.devId)!);
    expect(new Set(endpoints.map((e) => e.address)).size).toBe(3);
    for (const e of endpoints) expect(e.address).toMatch(/^127\.77\.\d+\.\d+$/);
    const info = await api(b, 'bnvr-0001', 'GET', '/info');
    expect(info).toEqual({ status: 200, json: { devId: 'bnvr-0001', pid: 'pnvr8ch', sn: 'NV8-BENCH-000001', fw: '4.0.1', rg: 'EU', st: 'waiting', model: 'DS-7608NI-Q1' } });
    expect(await api(b, 'bnvr-0001', 'GET', '/status')).toEqual({ status: 200, json: { st: 'waiting', ip: endpoints[0]!.address } });
  });

  it('given a token over POST /unbind, then the device works, makes the signed request itself and ends unbound; a second token finds it busy', async () => {
    const b = await start(1, { faultSpec: 'latency=200ms' });
    const token = generateToken('EU').token;
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token }))).toEqual({ status: 200, json: { accepted: true } });
    expect((await api(b, 'bnvr-0001', 'GET', '/status')).json.st).toBe('unbinding');
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token }))).toEqual({ status: 200, json: { accepted: false, code: 'NOT_WAITING' } });
    await b.idle();
    expect((await api(b, 'bnvr-0001', 'GET', '/status')).json).toMatchObject({ st: 'unbound', result: 'UNBOUND' });
    expect(authority!.accepted.map((r) => [r.devId, r.token])).toEqual([['bnvr-0001', token]]);
    expect(authority!.refused).toEqual([]); // signature, clock and nonce all passed the strict checks
  });

  it('given malformed requests, then the API says so without changing the device', async () => {
    const b = await start(1);
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', 'not json')).toEqual({ status: 400, json: { code: 'BAD_REQUEST', message: 'body is not JSON' } });
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token: 'short' }))).toEqual({ status: 200, json: { accepted: false, code: 'TOKEN_INVALID' } });
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token: generateToken('EU').token, extra: 1 }))).toMatchObject({ json: { accepted: false, code: 'TOKEN_INVALID' } });
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token: 'x'.repeat(5000) }))).toMatchObject({ status: 413 });
    expect((await api(b, 'bnvr-0001', 'GET', '/unbind')).status).toBe(405);
    expect((await api(b, 'bnvr-0001', 'GET', '/nothing')).status).toBe(404);
    expect(b.device('bnvr-0001')!.state).toBe('waiting');
    expect(authority!.hits()).toBe(0);
  });

  it('given a device never reset, then it has no pairing state to show (409 NOT_WAITING), refuses tokens, and is not advertised until reset from the status port', async () => {
    const b = await start(2, { faultSpec: 'notreset=1', statusPort: 0 });
    sweep = await startLanSweep({ mdnsPort: PORTS.mdns, sadp: false });
    const s = sweep;
    await waitFor('the reset device', () => s.device('bnvr-0002'));
    await s.refresh({ windowMs: 200 });
    expect(s.device('bnvr-0001')).toBeUndefined();
    expect(await api(b, 'bnvr-0001', 'GET', '/info')).toEqual({ status: 409, json: { code: 'NOT_WAITING', message: 'the device is in normal operation: reset it to unbind' } });
    expect((await api(b, 'bnvr-0001', 'GET', '/status')).status).toBe(409);
    expect(await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token: generateToken('EU').token }))).toEqual({ status: 200, json: { accepted: false, code: 'NOT_WAITING' } });
    expect(authority!.hits()).toBe(0);

    const rows = fleetStatusSchema.parse(await (await fetch(`${b.statusUrl}/status`)).json());
    expect(rows.map((r) => [r.devId, r.state, r.light, r.lastCode])).toEqual([
      ['bnvr-0001', 'operating', null, 'NOT_WAITING'],
      ['bnvr-0002', 'waiting', { color: 'red', pattern: 'fast-blink' }, null],
    ]);
    const reset = await fetch(`${b.statusUrl}/devices/bnvr-0001/reset`, { method: 'POST' });
    expect(await reset.json()).toMatchObject({ devId: 'bnvr-0001', state: 'waiting', lastCode: null });
    expect(await waitFor('advertised after the reset', () => s.device('bnvr-0001'))).toMatchObject({ st: 'waiting' });
    const details = await (await fetch(`${b.statusUrl}/devices/bnvr-0001`)).json();
    expect(details).toMatchObject({ devId: 'bnvr-0001', model: 'DS-7608NI-Q1', address: b.endpoint('bnvr-0001')!.address, port: b.endpoint('bnvr-0001')!.port });
    expect(details.history.map((h: { kind: string }) => h.kind)).toEqual(['rejected', 'reset', 'state']);
  });

  it('given a reset while the device works, then it is back in waiting and the late answer is ignored', async () => {
    const b = await start(1, { faultSpec: 'latency=300ms' });
    await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token: generateToken('EU').token }));
    b.resetDevice('bnvr-0001');
    await b.idle();
    expect(b.device('bnvr-0001')!.status()).toMatchObject({ state: 'waiting', lastCode: null, result: null });
    expect(authority!.hits()).toBe(0); // cancelled before the request left
  });

  it('given an authority that does not answer, then the device ends failed TIMEOUT; given the ipchange fault, it moves and ends NETWORK_CHANGED', async () => {
    const b = await start(2, { faultSpec: 'ipchange=1', requestTimeoutMs: 300 });
    const before = b.endpoint('bnvr-0001')!;
    await api(b, 'bnvr-0001', 'POST', '/unbind', JSON.stringify({ token: generateToken('EU').token }));
    await b.idle();
    const after = b.endpoint('bnvr-0001')!;
    expect(after.address).not.toBe(before.address);
    expect(after.port).toBe(before.port); // the same port on the new lease
    expect(await api(b, 'bnvr-0001', 'GET', '/status')).toEqual({ status: 200, json: { st: 'failed', code: 'NETWORK_CHANGED', result: 'FAILED', ip: after.address } });
    expect(authority!.accepted).toHaveLength(1); // the request did reach the authority: only its answer was lost

    authority!.behave({ kind: 'hang' });
    await api(b, 'bnvr-0002', 'POST', '/unbind', JSON.stringify({ token: generateToken('EU').token }));
    await b.idle();
    expect(b.device('bnvr-0002')!.status()).toMatchObject({ state: 'failed', lastCode: 'TIMEOUT' });
  });
});
