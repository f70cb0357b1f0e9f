import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWiredFaultSpec, sadpProbeMatchXml, startSadpResponder, startWiredBench, macFor, type WiredBench } from '../../src/device/index.js';
import { SADP_DATAGRAM_LIMITS, SADP_MULTICAST_ADDRESS, sadpProbeXml } from '../../src/protocol/index.js';
import {
  createGuardedUdpSocket,
  DHCP_FAILED_HINT,
  openSadpListener,
  parseSadpDatagram,
  probeSadp,
  resolveLanInterface,
  startLanSweep,
  type LanSweep,
  type MalformedReport,
  type SadpLanDevice,
} from '../../src/wired/index.js';
import { makeIdentity } from '../device/support/identities.js';
import { LAN_PORTS, waitFor } from './support/lan.js';

/**
 * SADP (DESIGN §4.7) as the station reads it: the real answers in shared/fixtures/sadp parse; over
 * real UDP multicast on loopback, the bench's Hikvision-style NVRs and DVRs answer the sweep's
 * probe, a device whose DHCP failed is flagged with what to do, and garbage is reported and skipped.
 */
const PORTS = LAN_PORTS.sadpSweep;
const lo = resolveLanInterface('127.0.0.1');
const FIXTURES = new URL('../../../shared/fixtures/sadp/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

let bench: WiredBench | null = null;
let sweep: LanSweep | null = null;

const device = (n: number, pid: string) =>
  makeIdentity(n, { devId: `${pid}-t${String(n).padStart(3, '0')}`, serial: `${pid === 'pnvr8ch' ? 'NV8' : pid === 'pdvr4ch' ? 'DV4' : 'GW1'}-TEST-${String(n).padStart(6, '0')}`, pid, firmware: '4.0.1' });

async function startBench(faults?: string): Promise<WiredBench> {
  bench = await startWiredBench({
    devices: [device(1, 'pnvr8ch'), device(2, 'pnvr8ch'), device(3, 'pdvr4ch'), device(4, 'pgw1uart')],
    regionUrls: { EU: 'http://127.0.0.1:9' },
    products: [
      { pid: 'pnvr8ch', category: 'nvr' },
      { pid: 'pdvr4ch', category: 'dvr' },
      { pid: 'pgw1uart', category: 'gateway' },
    ],
    mdnsPort: PORTS.mdns,
    sadpPort: PORTS.sadp,
    ...(faults ? { faults: parseWiredFaultSpec(faults) } : {}),
    log: () => undefined,
    sadpJitterMs: 20,
  });
  return bench;
}

/** A datagram on the SADP group, sent on loopback as a device would. */
async function sendToGroup(text: string): Promise<void> {
  const { socket } = createGuardedUdpSocket(lo);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  socket.setMulticastInterface(lo.address);
  await new Promise<void>((resolve, reject) => socket.send(text, PORTS.sadp, SADP_MULTICAST_ADDRESS, (e) => (e ? reject(e) : resolve())));
  socket.close();
}

beforeEach(async () => {
  sweep = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: true, sadpIntervalMs: 60_000, refreshWindowMs: 300 });
});
afterEach(async () => {
  await sweep?.close();
  await bench?.close();
  sweep = bench = null;
});

describe('SADP answers', () => {
  it('given the real fixtures, then both parse with every field as the device sent it (CRLF, flase, IPv6 ignored)', () => {
    const camera = parseSadpDatagram(fixture('camera-full.xml'));
    expect(camera).toEqual({
      kind: 'match',
      fields: {
        serial: 'DS-2CD2320D-I20180919AACHC52932642',
        mac: '44-47-cc-37-ce-81',
        ipv4: '192.168.1.112',
        dhcpFailed: false,
        uuid: 'F93CF8DC-DF53-424B-98A7-9FC0536E1083',
        deviceType: '142378',
        model: 'DS-2CD2320D-I',
        subnetMask: '255.255.255.0',
        gateway: '192.168.1.1',
        dhcp: true,
        firmware: 'V5.5.6build 180326',
        activated: true,
        commandPort: 8000,
        httpPort: 80,
      },
    });
    expect(parseSadpDatagram(fixture('nvr-short.xml'))).toMatchObject({ kind: 'match', fields: { serial: 'DS-7608NI-Q10820230101CCRRK12345678WCVU', model: 'DS-7608NI-Q1', ipv4: '192.168.1.64', dhcp: null } });
  });

  it('given what the bench devices send, then it reads like the fixtures: CRLF, flase, and parses back to the device', () => {
    const xml = sadpProbeMatchXml(
      { serial: 'NV8-TEST-000001', model: 'DS-7608NI-Q1', deviceType: '139711', mac: macFor('x'), ipv4: '0.0.0.0', httpPort: 8080, firmware: '4.0.1', activated: false, analogChannels: 0, digitalChannels: 8 },
      'UUID-1',
    );
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\r\n<ProbeMatch><Uuid>UUID-1<\/Uuid>\r\n<Types>inquiry<\/Types>\r\n/);
    expect(xml).toContain('<HCPlatformEnable>flase</HCPlatformEnable>');
    expect(parseSadpDatagram(xml)).toMatchObject({ kind: 'match', fields: { serial: 'NV8-TEST-000001', ipv4: '0.0.0.0', dhcpFailed: true, activated: false, firmware: 'V4.0.1build 240318', httpPort: 8080 } });
  });

  it('given garbage, a probe, or a ProbeMatch that fails the schema, then it says which and why without throwing', () => {
    expect(parseSadpDatagram('\u0000\u00ff not xml <<<')).toMatchObject({ kind: 'rejected', why: expect.stringMatching(/not well-formed XML/) });
    expect(parseSadpDatagram('<Probe><Uuid>U-1</Uuid><Types>inquiry</Types></Probe>')).toEqual({ kind: 'probe', uuid: 'U-1' });
    expect(parseSadpDatagram('<Hello>x</Hello>')).toEqual({ kind: 'rejected', why: 'not a ProbeMatch: root element <Hello>' });
    expect(parseSadpDatagram(fixture('nvr-short.xml').replace('c0-56-e3-00-00-01', 'c0-56'))).toMatchObject({ kind: 'rejected', why: expect.stringMatching(/^ProbeMatch refused: MAC: MAC is malformed/) });
    expect(parseSadpDatagram('')).toMatchObject({ kind: 'rejected' });
  });
});

describe('SADP on the LAN (real UDP multicast on loopback)', () => {
  it('given Hikvision-style NVRs and DVRs on the bench, then the sweep merges their SADP answers into their mDNS entries; the gateway has none', async () => {
    await startBench();
    const s = sweep!;
    await s.refresh(); // the bench came after the sweep's first probe
    await waitFor('4 devices, 3 with SADP fields', () => s.devices().length === 4 && s.devices().filter((d) => d.sadp).length === 3);
    const list = s.devices();
    expect(list.every((d) => d.source === 'mdns')).toBe(true);
    const nvr = list.find((d) => d.key === 'pnvr8ch-t001')!;
    expect(nvr.sadp).toMatchObject({ serial: 'NV8-TEST-000001', model: 'DS-7608NI-Q1', ipv4: nvr.address, httpPort: nvr.port, mac: macFor('pnvr8ch-t001'), activated: false, dhcp: true, dhcpFailed: false });
    expect(list.find((d) => d.key === 'pdvr4ch-t003')!.sadp).toMatchObject({ model: 'DS-7204HGHI-K1' });
    expect(list.find((d) => d.key === 'pgw1uart-t004')!.sadp).toBeNull();
    // Another probe, the same answers (but for the probe's Uuid they echo): nothing changed, no event.
    const changes: string[] = [];
    s.on('change', (c) => changes.push(`${c.kind} ${c.device.key}`));
    await s.refresh();
    expect(changes).toEqual([]);
  });

  it('given a device whose DHCP failed, then it is listed from SADP with IPv4 0.0.0.0, flagged DHCP_FAILED with what to do', async () => {
    await startBench('dhcp=1');
    const s = sweep!;
    await s.refresh();
    const failed = (await waitFor('the DHCP failure', () => s.devices().find((d) => d.source === 'sadp'))) as SadpLanDevice;
    expect(failed).toMatchObject({ key: 'sadp:NV8-TEST-000001', devId: null, st: null, sn: 'NV8-TEST-000001', address: '0.0.0.0', problem: { code: 'DHCP_FAILED', hint: DHCP_FAILED_HINT } });
    expect(DHCP_FAILED_HINT).toBe('DHCP failed: check the bench DHCP server or give the device a static IP with the vendor tool');
    expect(failed.sadp.dhcpFailed).toBe(true);
    // No lease: no mDNS advert, no local API.
    expect(s.devices().some((d) => d.devId === 'pnvr8ch-t001')).toBe(false);
    expect(bench!.endpoint('pnvr8ch-t001')).toBeNull();
    expect(bench!.status().find((r) => r.devId === 'pnvr8ch-t001')).toMatchObject({ state: 'waiting', lastCode: 'DHCP_FAILED' });
  });

  it('given garbage and schema-failing XML on the group, then each is reported with the sender and why, and the good answers stay listed', async () => {
    await startBench();
    const s = sweep!;
    await s.refresh();
    await waitFor('3 SADP devices', () => s.devices().filter((d) => d.sadp).length === 3);
    const reports: MalformedReport[] = [];
    s.on('malformed', (r) => reports.push(r));
    await sendToGroup('\u0000\u0001garbage that is not XML <ProbeMatch');
    await sendToGroup(fixture('nvr-short.xml').replace(/<DeviceSN>[^<]*<\/DeviceSN>/, ''));
    await sendToGroup(fixture('camera-full.xml').replace('192.168.1.112', 'camera.local'));
    await waitFor('3 reports', () => reports.length === 3);
    expect(reports.map((r) => r.source)).toEqual(['sadp', 'sadp', 'sadp']);
    expect(reports.every((r) => /^127\.0\.0\.1:\d+$/.test(r.from))).toBe(true);
    expect(reports[0]!.why).toMatch(/not well-formed XML/);
    expect(reports[1]!.why).toMatch(/DeviceSN/);
    expect(reports[2]!.why).toMatch(/IPv4Address/);
    await s.refresh();
    expect(s.devices().filter((d) => d.sadp)).toHaveLength(3);
  });

  it('given 64 KB datagrams (deep nesting, thousands of elements, an entity bomb) on the group, then the station and the devices refuse each before parsing, count it, and go on', async () => {
    await startBench();
    const s = sweep!;
    await s.refresh();
    await waitFor('3 SADP devices', () => s.devices().filter((d) => d.sadp).length === 3);
    const reports: MalformedReport[] = [];
    s.on('malformed', (r) => reports.push(r));
    const why: string[] = [];
    const listener = await openSadpListener({ lan: lo, port: PORTS.sadp, onMatch: () => undefined, onRejected: (_from, w) => why.push(w) });
    const device = await startSadpResponder({ lan: lo, port: PORTS.sadp, devices: () => [] });
    try {
      const K64 = 65_507;
      const floods = [
        `<ProbeMatch>${'<a>'.repeat((K64 - 12) / 3)}`.padEnd(K64, '<'),
        `<ProbeMatch>${'<E>1</E>'.repeat((K64 - 25) / 8)}</ProbeMatch>`.padEnd(K64, ' '),
        `<!DOCTYPE l [<!ENTITY a "${'a'.repeat(9000)}"><!ENTITY b "${'&a;'.repeat(10)}">]><ProbeMatch><DeviceSN>&b;</DeviceSN></ProbeMatch>`.padEnd(K64, ' '),
      ];
      for (const flood of floods) await sendToGroup(flood);
      await waitFor('3 refusals', () => why.length === 3 && reports.length === 3);
      expect(why).toEqual(floods.map(() => `refused before parsing: datagram of ${K64} bytes is over the ${SADP_DATAGRAM_LIMITS.maxBytes} a SADP answer may have`));
      expect(listener.rejected).toBe(3);
      expect(reports.map((r) => r.why)).toEqual(why);
      // The device heard them too (and the answers above): none was a probe, none answered.
      await waitFor('the device ignored the floods', () => device.ignored >= 3);
      expect(device.probes).toBe(0);
      await sendToGroup(sadpProbeXml('AFTER-THE-FLOOD'));
      await waitFor('the device answered the probe after the floods', () => device.probes === 1);
      await s.refresh();
      expect(s.devices().filter((d) => d.sadp)).toHaveLength(3);
    } finally {
      await Promise.all([listener.close(), device.close()]);
    }
  });

  it('given the real fixtures sent as answers, then the sweep lists them as devices seen only by SADP, not reset', async () => {
    const s = sweep!;
    await sendToGroup(fixture('camera-full.xml'));
    await sendToGroup(fixture('nvr-short.xml'));
    await waitFor('2 SADP devices', () => s.devices().length === 2);
    expect(s.devices().map((d) => [d.key, d.address, d.problem?.code])).toEqual([
      ['sadp:DS-2CD2320D-I20180919AACHC52932642', '192.168.1.112', 'NOT_WAITING'],
      ['sadp:DS-7608NI-Q10820230101CCRRK12345678WCVU', '192.168.1.64', 'NOT_WAITING'],
    ]);
    expect(s.malformed()).toEqual([]);
  });

  it('given a one-off probe, then probeSadp collects the answers of the window; devices that stop answering leave the live list after two probes', async () => {
    const b = await startBench();
    const once = await probeSadp({ interface: 'lo', port: PORTS.sadp, windowMs: 300 });
    expect(once.devices.map((d) => d.fields.serial).sort()).toEqual(['DV4-TEST-000003', 'NV8-TEST-000001', 'NV8-TEST-000002']);
    expect(once.rejected).toEqual([]);

    const s = sweep!;
    await waitFor('3 SADP devices', () => s.devices().filter((d) => d.sadp).length === 3);
    await b.close();
    bench = null;
    await s.refresh({ windowMs: 200 });
    await s.refresh({ windowMs: 200 });
    expect(s.devices()).toEqual([]);
  });
});
