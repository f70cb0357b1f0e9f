import { networkInterfaces } from 'node:os';
import { Bonjour, type ServiceConfig } from 'bonjour-service';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWiredFaultSpec, startWiredBench, type WiredBench } from '../../src/device/index.js';
import { generateToken } from '../../src/protocol/index.js';
import {
  createDeviceApiClient,
  createGuardedUdpSocket,
  openBonjour,
  resolveLanInterface,
  startLanSweep,
  type LanDeviceChange,
  type LanSweep,
  type MalformedReport,
} from '../../src/wired/index.js';
import { makeIdentity } from '../device/support/identities.js';
import { startStrictAuthority, type StrictAuthority } from '../device/support/strict-authority.js';
import { igmpGroupsByInterface, LAN_PORTS, waitFor } from './support/lan.js';

/**
 * The station's live LAN list over real multicast DNS on loopback: devices appear, follow their
 * state through TXT updates, leave on goodbye or when their records expire; malformed records are
 * reported with why and skipped; no socket multicasts anywhere but loopback.
 */
const PORTS = LAN_PORTS.lanSweep;
const lo = resolveLanInterface('127.0.0.1');
let authority: StrictAuthority;
let bench: WiredBench | null = null;
let sweep: LanSweep | null = null;
const cleanups: Array<() => Promise<void> | void> = [];

const nvr = (n: number) => makeIdentity(n, { devId: `tnvr-${String(n).padStart(4, '0')}`, serial: `NV8-TEST-${String(n).padStart(6, '0')}`, pid: 'pnvr8ch', firmware: '4.0.1' });

async function startBench(count: number, faults?: string): Promise<WiredBench> {
  const devices = Array.from({ length: count }, (_, i) => nvr(i + 1));
  authority = await startStrictAuthority(Object.fromEntries(devices.map((d) => [d.devId, d.deviceKey])));
  bench = await startWiredBench({
    devices,
    regionUrls: { EU: authority.url },
    mdnsPort: PORTS.mdns,
    sadpPort: PORTS.sadp,
    sadp: false,
    ...(faults ? { faults: parseWiredFaultSpec(faults) } : {}),
    log: () => undefined,
    announceDebounceMs: 10,
    withdrawAfterMs: 300,
  });
  return bench;
}

beforeEach(async () => {
  sweep = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: true, sadpIntervalMs: 60_000 });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await sweep?.close();
  await bench?.close();
  await authority?.close();
  sweep = bench = null;
});

describe('LAN sweep (mDNS on loopback)', () => {
  it('given reset devices on the bench, then each is listed with its TXT fields, its own IP and its API port; refresh() answers the same list', async () => {
    const b = await startBench(3);
    const s = sweep!;
    await waitFor('3 devices', () => s.devices().length === 3);
    const list = await s.refresh({ windowMs: 200 });
    expect(list.map((d) => d.key)).toEqual(['tnvr-0001', 'tnvr-0002', 'tnvr-0003']);
    for (const d of list) {
      const at = b.endpoint(d.key)!;
      expect(d).toMatchObject({ source: 'mdns', devId: d.key, pid: 'pnvr8ch', fw: '4.0.1', rg: 'EU', st: 'waiting', address: at.address, port: at.port, sadp: null, problem: null });
      expect(d.sn).toBe(b.device(d.key)!.serial);
      expect(Date.now() - d.lastSeen).toBeLessThan(5000);
    }
    expect(s.malformed()).toEqual([]);
  });

  it('given a device working on a token, then the list follows its state (TXT st) and drops it on its goodbye once done', async () => {
    const b = await startBench(2, 'latency=400ms');
    const s = sweep!;
    await waitFor('2 devices', () => s.devices().length === 2);
    const seen: string[] = [];
    s.on('change', (c: LanDeviceChange) => {
      if (c.device.key === 'tnvr-0001') seen.push(c.kind === 'removed' ? 'removed' : `${c.kind}:${c.device.st}`);
    });
    const accepted = await createDeviceApiClient().unbind(b.endpoint('tnvr-0001')!, generateToken('EU').token);
    expect(accepted).toEqual({ ok: true, value: { accepted: true } });
    await waitFor('unbinding on the list', () => s.device('tnvr-0001')?.st === 'unbinding');
    await waitFor('unbound on the list', () => s.device('tnvr-0001')?.st === 'unbound');
    await waitFor('the goodbye', () => s.device('tnvr-0001') === undefined);
    expect(seen).toEqual(['updated:unbinding', 'updated:unbound', 'removed']);
    expect(s.devices().map((d) => d.key)).toEqual(['tnvr-0002']);
  });

  it('given a device that is reset after finishing, then it is listed again as waiting', async () => {
    const b = await startBench(1);
    const s = sweep!;
    await waitFor('the device', () => s.device('tnvr-0001'));
    await createDeviceApiClient().unbind(b.endpoint('tnvr-0001')!, generateToken('EU').token);
    await waitFor('the goodbye', () => s.device('tnvr-0001') === undefined);
    b.resetDevice('tnvr-0001');
    expect((await waitFor('listed again', () => s.device('tnvr-0001')))!.st).toBe('waiting');
  });

  it('given records that are never renewed, then the device leaves the list when their TTL runs out', async () => {
    const { bonjour, mdns } = await openBonjour(lo, PORTS.mdns, () => undefined);
    cleanups.push(() => new Promise<void>((r) => bonjour.destroy(() => r())));
    const fqdn = 'tnvr-0099._iot-unbind._tcp.local';
    const txt = ['v=1', 'id=tnvr-0099', 'pid=pnvr8ch', 'sn=NV8-TEST-000099', 'fw=4.0.1', 'rg=EU', 'st=waiting'];
    mdns.respond({
      answers: [
        { name: '_iot-unbind._tcp.local', type: 'PTR', ttl: 1, data: fqdn },
        { name: fqdn, type: 'SRV', ttl: 1, flush: true, data: { port: 8080, target: 'tnvr-0099.local' } },
        { name: fqdn, type: 'TXT', ttl: 1, flush: true, data: txt },
        { name: 'tnvr-0099.local', type: 'A', ttl: 1, flush: true, data: '127.77.99.1' },
      ],
    });
    const s = sweep!;
    expect(await waitFor('the short-lived device', () => s.device('tnvr-0099'))).toMatchObject({ address: '127.77.99.1', port: 8080 });
    const t0 = Date.now();
    await waitFor('expiry', () => s.device('tnvr-0099') === undefined, 4000);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('given malformed TXT records published with bonjour-service (missing id, bad st, v=2), then each is reported with why and skipped, and the good devices stay listed', async () => {
    await startBench(2);
    const s = sweep!;
    const reports: MalformedReport[] = [];
    s.on('malformed', (r) => reports.push(r));
    const rogue = new Bonjour({ interface: '127.0.0.1', bind: '0.0.0.0', loopback: true, port: PORTS.mdns } as unknown as Partial<ServiceConfig>);
    cleanups.push(() => new Promise<void>((r) => rogue.destroy(() => r())));
    const good = { v: '1', id: 'rogue-0001', pid: 'pnvr8ch', sn: 'NV8-ROGUE-01', fw: '4.0.1', rg: 'EU', st: 'waiting' };
    const { id: _omitted, ...missingId } = good;
    rogue.publish({ name: 'no-id', type: 'iot-unbind', port: 9001, txt: missingId, probe: false });
    rogue.publish({ name: 'bad-st', type: 'iot-unbind', port: 9002, txt: { ...good, id: 'rogue-0002', st: 'sleeping' }, probe: false });
    rogue.publish({ name: 'v-two', type: 'iot-unbind', port: 9003, txt: { ...good, id: 'rogue-0003', v: '2' }, probe: false });
    await waitFor('3 reports', () => reports.length >= 3);
    await s.refresh({ windowMs: 300 }); // the same records again: reported once, not on every answer
    const byName = Object.fromEntries(reports.map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(['bad-st', 'no-id', 'v-two']);
    expect(reports).toHaveLength(3);
    expect(byName['no-id']!.why).toMatch(/id missing/);
    expect(byName['bad-st']!.why).toMatch(/st="sleeping"/);
    expect(byName['v-two']!.why).toMatch(/v="2"/);
    for (const r of reports) expect(r).toMatchObject({ source: 'mdns', from: expect.stringMatching(/^127\.0\.0\.1:/) });
    expect(s.malformed()).toHaveLength(3);
    expect(s.devices().map((d) => d.key)).toEqual(['tnvr-0001', 'tnvr-0002']);
  });

  it('given the bench closes, then its goodbyes empty the list at once (no wait for the TTL)', async () => {
    const b = await startBench(4);
    const s = sweep!;
    await waitFor('4 devices', () => s.devices().length === 4);
    await b.close();
    bench = null;
    await waitFor('goodbyes', () => s.devices().length === 0, 1000);
  });
});

describe('multicast never leaves loopback', () => {
  it('given a sweep (mDNS + SADP) and a bench, then every socket multicasts on 127.0.0.1 only, and the kernel has the groups joined on lo only', async () => {
    const b = await startBench(1);
    const s = sweep!;
    const { mdns, sadp } = s.multicast();
    for (const r of [mdns, sadp!, b.multicast().mdns]) {
      expect(r.multicastInterface).toBe('127.0.0.1');
      expect(r.memberships.length).toBeGreaterThan(0);
      expect(r.memberships.every((m) => m.iface === '127.0.0.1')).toBe(true);
      expect(r.refused).toEqual([]);
    }
    expect(mdns.memberships.map((m) => m.group)).toEqual(['224.0.0.251']);
    expect(sadp!.memberships.map((m) => m.group)).toEqual(['239.255.255.250']);
    const groups = igmpGroupsByInterface();
    expect([...groups.get('lo')!]).toEqual(expect.arrayContaining(['224.0.0.251', '239.255.255.250']));
    for (const [dev, joined] of groups) {
      if (dev === 'lo') continue;
      expect(joined.has('224.0.0.251'), `${dev} joined mDNS`).toBe(false);
      expect(joined.has('239.255.255.250'), `${dev} joined SADP`).toBe(false);
    }
  });

  it('given a guarded socket on loopback, then joining or sending multicast on another interface throws, and nothing multicasts before the interface is set', async () => {
    const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '10.255.255.1';
    const { socket, record } = createGuardedUdpSocket(lo);
    await new Promise<void>((r) => socket.bind(0, '0.0.0.0', r));
    try {
      expect(() => socket.setMulticastInterface(other)).toThrow(/only on lo/);
      expect(() => socket.addMembership('224.0.0.251')).toThrow(/default interface/);
      expect(() => socket.addMembership('224.0.0.251', other)).toThrow(/only on lo/);
      const err = await new Promise<Error | null>((r) => socket.send('x', 5353, '224.0.0.251', (e) => r(e)));
      expect(err?.message).toMatch(/before the multicast interface is set/);
      expect(record.refused).toHaveLength(4);
      socket.setMulticastInterface('127.0.0.1');
      expect(record.multicastInterface).toBe('127.0.0.1');
    } finally {
      socket.close();
    }
  });

  it('given a LAN interface setting that is not on this machine, then the sweep refuses to start and names the choices', async () => {
    await expect(startLanSweep({ interface: '203.0.113.77' })).rejects.toThrow(/not an IPv4 interface of this machine; choices: .*lo \(127\.0\.0\.1\)/);
    expect(resolveLanInterface('lo')).toEqual({ name: 'lo', address: '127.0.0.1', loopback: true });
  });
});
