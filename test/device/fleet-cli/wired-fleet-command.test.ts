import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFleetCommand, type DemoExport, type Fleet, type WiredBench } from '../../../src/device/index.js';
import { fleetStatusSchema } from '../../../src/protocol/virtual-bench.js';
import { startLanSweep, unbindOverLan, type LanSweep, type MdnsLanDevice } from '../../../src/wired/index.js';
import { LAN_PORTS, waitFor } from '../../wired/support/lan.js';
import { makeIdentity } from '../support/identities.js';
import { startStrictAuthority, type StrictAuthority } from '../support/strict-authority.js';

/** `unbind fleet --wired N`: the wired bench from the demo export, on the same status port as the cameras. */
const PORTS = LAN_PORTS.wiredFleetCommand;
let dir: string;
let exportFile: string;
let authority: StrictAuthority;
let sweep: LanSweep | null = null;
const nvrs = Array.from({ length: 4 }, (_, i) => makeIdentity(i + 1, { devId: `cnvr-${i + 1}xx`, serial: `NV8-CMD-00000${i + 1}`, pid: 'pnvr8ch', firmware: '4.0.1' }));
const gateways = Array.from({ length: 2 }, (_, i) => makeIdentity(i + 1, { devId: `cgw1-${i + 1}xx`, serial: `GW1-CMD-00000${i + 1}`, pid: 'pgw1uart', firmware: '1.8.0' }));
const cameras = Array.from({ length: 3 }, (_, i) => makeIdentity(i + 1, { pid: 'pqr1cam' }));
const lanArgs = ['--mdns-port', String(PORTS.mdns), '--sadp-port', String(PORTS.sadp)];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wired-fleet-cmd-'));
  const all = [...cameras, ...nvrs, ...gateways];
  authority = await startStrictAuthority(Object.fromEntries(all.map((d) => [d.devId, d.deviceKey])));
  const product = (pid: string, category: string) => ({ pid, name: pid, category, owner: 'acc', unbindSupported: true, minFirmware: null });
  const data: DemoExport = {
    authorityUrl: authority.url,
    accounts: [{ name: 'Acme', role: 'owner', clientId: 'cid', secret: 'sec', region: 'EU' }],
    products: [product('pqr1cam', 'ipc'), product('pnvr8ch', 'nvr'), product('pgw1uart', 'gateway')],
    devices: all,
  };
  exportFile = join(dir, 'demo.json');
  await writeFile(exportFile, JSON.stringify(data));
});
afterEach(async () => {
  await sweep?.close();
  sweep = null;
  await authority.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], until?: (f: Fleet, b: WiredBench | null) => Promise<void>) {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  let during: Promise<void> = Promise.resolve();
  let bench: WiredBench | null = null;
  const code = await runFleetCommand(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    signal: stop.signal,
    onWiredReady: (b) => {
      bench = b;
    },
    onReady: (f) => {
      // onWiredReady follows onReady in the same turn: look at both once it has run.
      during = Promise.resolve()
        .then(() => (until ? until(f, bench) : undefined))
        .finally(() => stop.abort());
    },
  });
  await during;
  return { code, out, err };
}

describe('unbind fleet --wired', () => {
  it('runs N wired devices of the export on loopback, lists them on the status port, and resets one from there', async () => {
    const r = await run(['--devices', exportFile, '--wired', '5', '--wired-faults', 'notreset=1', '--status-port', '0', ...lanArgs], async (f, b) => {
      expect(b!.devices.map((d) => d.devId)).toEqual(['cnvr-1xx', 'cnvr-2xx', 'cnvr-3xx', 'cnvr-4xx', 'cgw1-1xx']);
      sweep = await startLanSweep({ mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp });
      const s = sweep;
      await waitFor('4 reset devices', () => s.devices().filter((d) => d.source === 'mdns').length === 4);
      const rows = fleetStatusSchema.parse(await (await fetch(`${f.statusUrl}/status`)).json());
      expect(rows.map((x) => [x.devId, x.state])).toEqual([
        ['cnvr-1xx', 'operating'],
        ['cnvr-2xx', 'waiting'],
        ['cnvr-3xx', 'waiting'],
        ['cnvr-4xx', 'waiting'],
        ['cgw1-1xx', 'waiting'],
      ]);
      await fetch(`${f.statusUrl}/devices/cnvr-1xx/reset`, { method: 'POST' });
      const listed = await waitFor('5 devices', () => {
        const l = s.devices().filter((d): d is MdnsLanDevice => d.source === 'mdns');
        return l.length === 5 ? l : null;
      });
      const outcomes = await unbindOverLan(listed, () => 'EUabcdefgh123456', { sweep: s });
      expect(outcomes.map((o) => o.result)).toEqual(['UNBOUND', 'UNBOUND', 'UNBOUND', 'UNBOUND', 'UNBOUND']);
      expect(authority.accepted).toHaveLength(5);
    });
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`fleet: wired bench: 5 devices (pnvr8ch 4, pgw1uart 1), LAN lo (127.0.0.1), mDNS port ${PORTS.mdns}, SADP port ${PORTS.sadp}`);
    expect(r.out.some((l) => / cnvr-1xx operating→waiting reset$/.test(l))).toBe(true);
    expect(r.out.filter((l) => /unbinding→unbound UNBOUND$/.test(l))).toHaveLength(5);
    expect(r.out.at(-1)).toBe('fleet: stopped');
  });

  it('runs the QR cameras too when given a screen, never a wired device among them', async () => {
    await writeFile(join(dir, 'blank.png'), Buffer.from('not a png'));
    const r = await run(['--devices', exportFile, '--wired', '2', '--wired-pid', 'pgw1uart', '--qr-source', join(dir, 'blank.png'), '--poll-ms', '60000', ...lanArgs], async (f, b) => {
      expect(b!.devices.map((d) => d.devId)).toEqual(['cgw1-1xx', 'cgw1-2xx']);
      expect(f.devices.map((d) => d.devId)).toEqual([...cameras.map((c) => c.devId), ...nvrs.map((n) => n.devId)]);
    });
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe('fleet: 7 devices (pqr1cam 3, pnvr8ch 4), Wi-Fi "bench-lab"');
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['a wired option without --wired', ['--wired-pid', 'pnvr8ch'], /--wired-pid needs --wired N/],
    ['--wired 0', ['--wired', '0'], /--wired must be a whole number from 1/],
    ['more wired devices than the export has', ['--wired', '7'], /--wired 7: only 6 wired devices/],
    ['a product that is not wired', ['--wired', '1', '--wired-pid', 'pqr1cam'], /--wired-pid pqr1cam is not a wired product/],
    ['a QR-camera fault on the wired bench', ['--wired', '2', '--wired-faults', 'powerloss=1'], /--wired-faults: unknown wired fault "powerloss"/],
    ['too many faults', ['--wired', '2', '--wired-faults', 'dhcp=3'], /--wired-faults: .*not enough devices/],
    ['an interface that is not on this machine', ['--wired', '1', '--lan-interface', '203.0.113.9'], /--lan-interface: .*not an IPv4 interface/],
    ['a bad mDNS port', ['--wired', '1', '--mdns-port', '0'], /--mdns-port must be a port/],
    ['QR options without a screen', ['--wired', '1', '--pid', 'pqr1cam'], /--pid selects QR cameras: with --wired it needs --qr-source/],
  ];
  for (const [name, argv, message] of bad) {
    it(`exits 2 on ${name}`, async () => {
      const r = await run(['--devices', exportFile, ...argv]);
      expect(r.code).toBe(2);
      expect(r.err[0]).toMatch(message);
    });
  }

  it('--help shows the wired options', async () => {
    const r = await run(['--help']);
    expect(r.out[0]).toMatch(/--wired N .*\n.*--wired-pid P/);
    expect(r.out[0]).toMatch(/--lan-interface IF .*default 127\.0\.0\.1: loopback/);
  });
});
