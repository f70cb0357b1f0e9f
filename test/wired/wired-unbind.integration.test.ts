import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseWiredFaultSpec, startWiredBench, type DeviceIdentity, type WiredBench } from '../../src/device/index.js';
import { MAX_TOKEN_CAPACITY } from '../../src/protocol/index.js';
import { createDeviceApiClient, startLanSweep, unbindOverLan, type LanSweep, type LanUnbindTarget, type MdnsLanDevice } from '../../src/wired/index.js';
import { startWiredAuthority, type WiredAuthority } from './support/authority.js';
import { LAN_PORTS, waitFor } from './support/lan.js';

/**
 * The wired method end to end, every part real: the authority over HTTP with tokens issued by
 * signed station calls (channel wired), virtual NVRs/DVRs/gateways advertising over multicast DNS on
 * loopback and serving their local API on their own 127.77.x.y address, the station's sweep
 * listing them and its LAN client handing each one its token.
 */
const PORTS = LAN_PORTS.wiredUnbind;
let authority: WiredAuthority;
let bench: WiredBench | null = null;
let sweep: LanSweep | null = null;
const lines: string[] = [];

async function startBench(devices: DeviceIdentity[], faults?: string): Promise<WiredBench> {
  bench = await startWiredBench({
    devices,
    regionUrls: { EU: authority.url },
    products: authority.demo.products,
    mdnsPort: PORTS.mdns,
    sadpPort: PORTS.sadp,
    ...(faults ? { faults: parseWiredFaultSpec(faults) } : {}),
    log: (l) => lines.push(l),
    withdrawAfterMs: 1500,
  });
  return bench;
}

async function startSweep(): Promise<LanSweep> {
  sweep = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: false });
  return sweep;
}

const waitingOnLan = (s: LanSweep): MdnsLanDevice[] => s.devices().filter((d): d is MdnsLanDevice => d.source === 'mdns' && d.st === 'waiting');

/** Tokens of at most 30 devices, in the order of the devices: what the station's planner does. */
async function tokensFor(targets: readonly LanUnbindTarget[]): Promise<{ tokenFor: (t: LanUnbindTarget) => string; ids: string[] }> {
  const byDevice = new Map<string, string>();
  const ids: string[] = [];
  for (let i = 0; i < targets.length; i += MAX_TOKEN_CAPACITY) {
    const group = targets.slice(i, i + MAX_TOKEN_CAPACITY);
    const issued = await authority.issueToken(group.length);
    ids.push(issued.id);
    for (const t of group) byDevice.set(t.devId, issued.token);
  }
  return { tokenFor: (t) => byDevice.get(t.devId)!, ids };
}

beforeAll(async () => {
  // Raised daily limits: this file unbinds more than 100 devices of the owner account.
  authority = await startWiredAuthority({ accountLimit: 10_000, productLimit: 10_000 });
});
afterEach(async () => {
  await sweep?.close();
  await bench?.close();
  sweep = bench = null;
  lines.length = 0;
});
afterAll(async () => {
  await authority?.close();
});

describe('wired unbind over the LAN against the real authority', () => {
  it('100 wired devices are discovered and unbound in one go, with tokens of at most 30 devices: the authority logs 100 UNBOUND', async () => {
    const devices = [...authority.take(50, 'pnvr8ch'), ...authority.take(30, 'pgw1uart'), ...authority.take(20, 'pdvr4ch')];
    await startBench(devices);
    const s = await startSweep();
    const listed = await waitFor('100 devices listed', () => (waitingOnLan(s).length === 100 ? waitingOnLan(s) : null));
    expect(new Set(listed.map((d) => d.address)).size).toBe(100); // each device on its own IP
    expect(listed.every((d) => /^127\.77\.\d+\.\d+$/.test(d.address))).toBe(true);
    const byId = new Map(devices.map((d) => [d.devId, d]));
    for (const d of listed) expect(d).toMatchObject({ pid: byId.get(d.devId)!.pid, sn: byId.get(d.devId)!.serial, fw: byId.get(d.devId)!.firmware, rg: 'EU' });

    const targets = listed.map((d) => ({ devId: d.devId, address: d.address, port: d.port, expectedSerial: d.sn }));
    const { tokenFor, ids } = await tokensFor(targets);
    expect(ids).toHaveLength(4);
    const stages: string[] = [];
    const outcomes = await unbindOverLan(targets, tokenFor, { sweep: s, onProgress: (p) => p.stage === 'done' && stages.push(p.devId) });

    expect(outcomes.filter((o) => o.result === 'UNBOUND')).toHaveLength(100);
    expect(outcomes.filter((o) => o.code)).toEqual([]);
    expect(stages).toHaveLength(100);
    const logs = (await Promise.all(ids.map((tokenId) => authority.deviceLogs({ tokenId })))).flat();
    expect(logs.filter((l) => l.result === 'UNBOUND' && l.channel === 'wired')).toHaveLength(100);
    expect(new Set(logs.map((l) => l.devId))).toEqual(new Set(devices.map((d) => d.devId)));
    expect(bench!.status().every((r) => r.state === 'unbound' && r.result === 'UNBOUND')).toBe(true);
    // Done for good: the devices say goodbye and leave the list.
    await waitFor('the list to empty', () => s.devices().length === 0, 5000);
  });

  it('devices not reset are not listed and refuse tokens (NOT_WAITING), and the authority never hears of them', async () => {
    const devices = authority.take(5, 'pnvr8ch');
    const b = await startBench(devices, 'notreset=2');
    const s = await startSweep();
    const notReset = b.devices.filter((d) => d.state === 'operating').map((d) => d.devId);
    expect(notReset).toHaveLength(2);
    await waitFor('the 3 reset devices', () => waitingOnLan(s).length === 3);
    await s.refresh({ windowMs: 300 });
    expect(s.devices().map((d) => d.devId).sort()).toEqual(devices.map((d) => d.devId).filter((id) => !notReset.includes(id)).sort());

    // The station reaches them anyway (an address from an old sweep): they refuse the token.
    const issued = await authority.issueToken(2);
    const targets = notReset.map((devId) => ({ devId, ...b.endpoint(devId)! }));
    const client = createDeviceApiClient();
    const direct = await client.unbind(targets[0]!, issued.token);
    expect(direct).toEqual({ ok: true, value: { accepted: false, code: 'NOT_WAITING' } });
    const outcomes = await unbindOverLan(targets, () => issued.token);
    expect(outcomes.map((o) => [o.result, o.code])).toEqual([
      ['FAILED', 'NOT_WAITING'],
      ['FAILED', 'NOT_WAITING'],
    ]);
    for (const devId of notReset) expect(await authority.deviceLogs({ devId })).toEqual([]);
    // The one handed a token shows why nothing happened; the station's /info check spared the other one the token
    // (its /info says `operating`: it answers it for a local unbind with the admin password, §4.8).
    expect(b.device(notReset[0]!)!.lastCode).toBe('NOT_WAITING');
    expect(outcomes[1]!.detail).toBe('device is operating, not waiting: reset it');

    // Reset on the bench: the device advertises at once and takes its token.
    b.resetDevice(notReset[0]!);
    const back = await waitFor('the reset device listed', () => waitingOnLan(s).find((d) => d.devId === notReset[0]));
    const [after] = await unbindOverLan([{ devId: back.devId, address: back.address, port: back.port }], () => issued.token, { sweep: s });
    expect(after).toMatchObject({ result: 'UNBOUND' });
  });

  it('a device whose IP changes during its unbind ends NETWORK_CHANGED (not a hang); its /status shows the new IP', async () => {
    const devices = authority.take(3, 'pdvr4ch');
    const b = await startBench(devices, 'ipchange=1');
    const s = await startSweep();
    const listed = await waitFor('3 devices', () => (waitingOnLan(s).length === 3 ? waitingOnLan(s) : null));
    const moving = devices[0]!.devId;
    const before = listed.find((d) => d.devId === moving)!;
    const issued = await authority.issueToken(3);
    const t0 = Date.now();
    const outcomes = await unbindOverLan(
      listed.map((d) => ({ devId: d.devId, address: d.address, port: d.port })),
      () => issued.token,
      { sweep: s, deadlineMs: 20_000 },
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    const moved = outcomes.find((o) => o.devId === moving)!;
    expect(moved).toMatchObject({ code: 'NETWORK_CHANGED', address: `${before.address}:${before.port}` });
    const now = b.endpoint(moving)!;
    expect(now.address).not.toBe(before.address);
    expect(moved.movedTo).toBe(`${now.address}:${now.port}`);
    expect(outcomes.filter((o) => o.devId !== moving).map((o) => o.result)).toEqual(['UNBOUND', 'UNBOUND']);

    const status = await createDeviceApiClient().status(now);
    expect(status).toEqual({ ok: true, value: { st: 'failed', code: 'NETWORK_CHANGED', result: 'FAILED', ip: now.address } });
    expect(lines.some((l) => l.includes(`${moving} address ${before.address} → ${now.address}`))).toBe(true);
    // The old address no longer answers: the lease is gone.
    expect((await createDeviceApiClient({ timeoutMs: 500 }).status({ address: before.address, port: before.port })).ok).toBe(false);
  });

  it('without the sweep, a device that moved is still found out by its /status address when it answers there', async () => {
    // Same scenario, but the station follows the device at an address where the device's own /status reports another IP.
    const devices = authority.take(1, 'pdvr4ch');
    const b = await startBench(devices);
    const at = b.endpoint(devices[0]!.devId)!;
    const fake = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/info') return res.end(JSON.stringify({ devId: devices[0]!.devId, pid: 'pdvr4ch', sn: devices[0]!.serial, fw: '4.0.1', rg: 'EU', st: 'waiting' }));
      if (req.url === '/unbind') return res.end(JSON.stringify({ accepted: true }));
      res.end(JSON.stringify({ st: 'unbinding', ip: at.address }));
    });
    await new Promise<void>((r) => fake.listen(0, '127.77.250.1', r));
    try {
      const port = (fake.address() as AddressInfo).port;
      const [o] = await unbindOverLan([{ devId: devices[0]!.devId, address: '127.77.250.1', port }], () => 'EUabcdefghSECRET');
      expect(o).toMatchObject({ code: 'NETWORK_CHANGED', movedTo: at.address });
    } finally {
      fake.close();
    }
  });

  it('a device that stops answering ends TIMEOUT within the deadline; a wrong serial ends SERIAL_MISMATCH; a device not bound ends NOT_BOUND', async () => {
    const notBound = authority.demo.devices.find((d) => d.pid === 'pnvr8ch' && !d.bound)!;
    const [healthy] = authority.take(1, 'pnvr8ch');
    const b = await startBench([notBound, healthy!]);
    let silent: Server | null = null;
    const hang = createServer((req, res) => {
      if (req.url === '/info') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ devId: 'silent-0001', pid: 'pnvr8ch', sn: 'NV8-SILENT-01', fw: '4.0.1', rg: 'EU', st: 'waiting' }));
      }
      if (req.url === '/unbind') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ accepted: true }));
      }
      // /status: never answers, as a device that froze
    });
    silent = hang;
    await new Promise<void>((r) => hang.listen(0, '127.77.250.2', r));
    try {
      const issued = await authority.issueToken(3);
      const t0 = Date.now();
      const outcomes = await unbindOverLan(
        [
          { devId: 'silent-0001', address: '127.77.250.2', port: (hang.address() as AddressInfo).port },
          { devId: notBound.devId, ...b.endpoint(notBound.devId)! },
          { devId: healthy!.devId, ...b.endpoint(healthy!.devId)!, expectedSerial: 'NV8-LABEL-999999' },
        ],
        () => issued.token,
        { timeoutMs: 300, deadlineMs: 1500, pollMs: 100 },
      );
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(outcomes[0]).toMatchObject({ devId: 'silent-0001', code: 'TIMEOUT' });
      expect(outcomes[0]!.detail).toMatch(/stopped answering/);
      expect(outcomes[1]).toMatchObject({ result: 'NOT_BOUND' });
      expect(outcomes[2]).toMatchObject({ result: 'FAILED', code: 'SERIAL_MISMATCH' });
      expect(await authority.deviceLogs({ devId: healthy!.devId })).toEqual([]); // refused before any token was handed over
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('a device with no route to the cloud ends FAILED CLOUD_UNREACHABLE, reported by the device itself', async () => {
    const devices = authority.take(2, 'pgw1uart');
    await startBench(devices, 'unreachable=1');
    const s = await startSweep();
    const listed = await waitFor('2 devices', () => (waitingOnLan(s).length === 2 ? waitingOnLan(s) : null));
    const issued = await authority.issueToken(2);
    const outcomes = await unbindOverLan(listed.map((d) => ({ devId: d.devId, address: d.address, port: d.port })), () => issued.token, { sweep: s });
    expect(outcomes.map((o) => [o.devId, o.result, o.code ?? null])).toEqual([
      [devices[0]!.devId, 'FAILED', 'CLOUD_UNREACHABLE'],
      [devices[1]!.devId, 'UNBOUND', null],
    ]);
  });
});
