import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFleetCommand, type DemoExport, type Fleet } from '../../../src/device/index.js';
import { renderQrPng } from '../../../src/qr/index.js';
import { benchPayload, makeIdentity } from '../support/identities.js';
import { startStrictAuthority, type StrictAuthority } from '../support/strict-authority.js';

let dir: string;
let exportFile: string;
let authority: StrictAuthority;
const devices = [
  ...Array.from({ length: 4 }, (_, i) => makeIdentity(i + 1, { pid: 'pcamA' })),
  ...Array.from({ length: 3 }, (_, i) => makeIdentity(i + 11, { pid: 'pcamB' })),
];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-cmd-'));
  authority = await startStrictAuthority(Object.fromEntries(devices.map((d) => [d.devId, d.deviceKey])));
  const data: DemoExport = {
    authorityUrl: authority.url,
    accounts: [{ name: 'Acme', role: 'owner', clientId: 'cid', secret: 'sec', region: 'EU' }],
    products: [{ pid: 'pcamA', name: 'Cam A', category: 'ipc', owner: 'acc', unbindSupported: true, minFirmware: null }],
    devices,
  };
  exportFile = join(dir, 'demo.json');
  await writeFile(exportFile, JSON.stringify(data));
});
afterEach(async () => {
  await authority.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], until?: (f: Fleet) => Promise<void>) {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  let fleet: Fleet | null = null;
  let during: Promise<void> = Promise.resolve();
  const code = await runFleetCommand(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    signal: stop.signal,
    onReady: (f) => {
      fleet = f;
      during = (until ? until(f) : Promise.resolve()).finally(() => stop.abort());
    },
  });
  await during; // an assertion that failed while the fleet ran fails the test
  return { code, out, err, fleet: fleet as Fleet | null };
}

describe('unbind fleet', () => {
  it('runs the selected devices against the screen and stops cleanly', async () => {
    const wifi = 'lab-net:pass-1234567';
    await writeFile(join(dir, 'code.png'), (await renderQrPng(benchPayload({ s: 'lab-net' }))).png);
    const r = await run(['--devices', exportFile, '--pid', 'pcamA', '--count', '3', '--faults', 'dhcp=1', '--qr-source', join(dir, 'code.png'), '--wifi', wifi, '--status-port', '0', '--poll-ms', '50'], async (f) => {
      await f.pollNow();
      await f.idle();
      const res = await fetch(`${f.statusUrl}/status`);
      expect(res.status).toBe(200);
    });
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.fleet!.status().map((s) => [s.devId, s.state, s.lastCode])).toEqual([
      ['tcam-0001', 'failed', 'DHCP_FAILED'],
      ['tcam-0002', 'unbound', null],
      ['tcam-0003', 'unbound', null],
    ]);
    expect(r.out[0]).toBe('fleet: 3 devices (pcamA 3), Wi-Fi "lab-net"');
    expect(r.out.some((l) => /^fleet: status on http:\/\/127\.0\.0\.1:\d+\/status$/.test(l))).toBe(true);
    expect(r.out.filter((l) => l.includes('→'))).toHaveLength(6);
    expect(r.out.at(-1)).toBe('fleet: stopped');
    expect(authority.accepted.map((a) => a.devId).sort()).toEqual(['tcam-0002', 'tcam-0003']);
  });

  it('defaults: bench-lab Wi-Fi, every device, the export authority for every region', async () => {
    await writeFile(join(dir, 'code.png'), (await renderQrPng(benchPayload({ s: 'bench-lab', p: 'bench-pass-2024' }))).png);
    const r = await run(['--devices', exportFile, '--qr-source', join(dir, 'code.png')], async (f) => {
      await f.pollNow();
      await f.idle();
    });
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe('fleet: 7 devices (pcamA 4, pcamB 3), Wi-Fi "bench-lab"');
    expect(r.fleet!.status().every((s) => s.state === 'unbound')).toBe(true);
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^usage: unbind fleet --devices FILE/);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['no --devices', [], /--devices FILE is required/],
    ['an unknown option', ['--devices', 'x', '--colour', 'red'], /colour/],
    ['a positional argument', ['--devices', 'x', 'extra'], /extra/],
    ['a count of zero', ['--devices', 'x', '--count', '0'], /--count must be a whole number/],
    ['a count that is no number', ['--devices', 'x', '--count', '3x'], /--count must be a whole number/],
    ['a bad port', ['--devices', 'x', '--status-port', '70000'], /--status-port/],
    ['a bad fault spec', ['--devices', 'x', '--faults', 'dhcp=lots of'], /--faults: fault "dhcp"/],
    ['a bad Wi-Fi', ['--devices', 'x', '--wifi', 'nopassword'], /--wifi needs SSID:PASSWORD/],
    ['a short Wi-Fi password', ['--devices', 'x', '--wifi', 'lab:short'], /--wifi "lab": Wi-Fi password is shorter than 8 characters/],
    ['a non-ASCII Wi-Fi password', ['--devices', 'x', '--wifi', 'lab:pässwört'], /--wifi "lab": Wi-Fi password may hold only printable ASCII/],
    ['an SSID over 32 bytes', ['--devices', 'x', '--wifi', `${'é'.repeat(17)}:password`], /SSID is longer than 32 bytes/],
    ['a bad pid', ['--devices', 'x', '--pid', 'a b'], /--pid "a b"/],
    ['a bad authority', ['--devices', 'x', '--authority', 'not a url'], /--authority/],
    ['a missing file', ['--devices', '/nonexistent/demo.json'], /--devices: cannot read/],
  ];
  for (const [name, argv, message] of bad) {
    it(`exits 2 on ${name}`, async () => {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err[0]).toMatch(message);
      expect(r.err[0]).toMatch(/^unbind fleet: /);
    });
  }

  it('exits 2 on an export that does not validate, naming the field', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ authorityUrl: 'http://127.0.0.1:1', accounts: [], products: [], devices: [{ devId: 'x' }] }));
    const r = await run(['--devices', join(dir, 'bad.json')]);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/devices\.0\.\w+/);
    await writeFile(join(dir, 'text.json'), 'hello');
    expect((await run(['--devices', join(dir, 'text.json')])).err[0]).toMatch(/is not JSON/);
  });

  it('exits 2 when the selection is empty, too small for --count, or for the faults', async () => {
    expect((await run(['--devices', exportFile, '--pid', 'pnone'])).err[0]).toMatch(/no device of product pnone/);
    expect((await run(['--devices', exportFile, '--pid', 'pcamB', '--count', '4'])).err[0]).toMatch(/only 3 matching/);
    expect((await run(['--devices', exportFile, '--pid', 'pcamB', '--faults', 'dhcp=4'])).err[0]).toMatch(/not enough devices/);
  });

  it('exits 1 when the status port is taken', async () => {
    const first = await run(['--devices', exportFile, '--status-port', '0'], async (f) => {
      const port = Number(new URL(f.statusUrl!).port);
      const second = await run(['--devices', exportFile, '--status-port', String(port)]);
      expect(second.code).toBe(1);
      expect(second.err[0]).toMatch(/cannot start: .*EADDRINUSE/);
    });
    expect(first.code).toBe(0);
  });
});
