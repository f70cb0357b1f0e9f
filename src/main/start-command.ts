import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startAuthority, type RunningAuthority } from '../cloud/authority.js';
import { demoExportSchema, type DemoExport } from '../cloud/demo.js';
import { openBatchStore } from '../batch/batch-records.js';
import { createBatchService } from '../batch/batch-service.js';
import { openHistoryStore } from '../history/index.js';
import { DEFAULT_BENCH_PASSWORD, DEFAULT_BENCH_SSID, DEFAULT_BENCH_NETWORKS } from '../device/bench-network.js';
import { startFleet, type Fleet } from '../device/fleet.js';
import { startWiredBench, type WiredBench } from '../device/wired-bench.js';
import { parseWiredFaultSpec } from '../device/wired-fault-spec.js';
import { startUartBench, type UartBench } from '../device/uart-gateway-bench.js';
import { startVirtualScanner, type VirtualScanner } from '../device/virtual-scanner.js';
import { startLanSweep } from '../wired/index.js';
import { createBenchLink } from './bench-link.js';
import { startSerialService } from './serial-service.js';
import { createEventHub } from './event-hub.js';
import { createSessionManager } from './station-session.js';
import { createStationCore, type StationCore } from './station-core.js';
import { buildStationServer } from './station-server.js';

/**
 * `unbind start`: the main job. The station, and unless told otherwise the embedded authority with its
 * demo world and a virtual bench of cameras looking at the codes this station shows.
 */
export const START_USAGE = `usage: unbind start [options]
  --port P              station port on 127.0.0.1 (default 8790; 0: any free port)
  --data DIR            where the station and the embedded authority keep their files (default .data)
  --authority URL       use this authority instead of starting one
  --demo-export FILE    with --authority: demo accounts and bench devices from this export
  --authority-port P    port of the embedded authority (default 8787; 0: any)
  --no-bench            no virtual bench
  --bench-devices N     virtual cameras on the bench (default 64)
  --bench-wired N       virtual wired devices (NVRs, DVRs, gateways) on the bench LAN (default 24)
  --bench-uart N        virtual UART gateways on ptys (default 3; needs socat)
  --bench-scanner       a virtual barcode scanner on a pty, set as the scanner port
  --lan-interface IF    interface of the LAN sweep, name or IPv4 (default 127.0.0.1: loopback)
  --no-lan              no LAN sweep (no wired method)
  --mdns-port P         mDNS port of the sweep and the bench (default 5353)
  --sadp-port P         SADP port of the sweep and the bench (default 37020)
  --tz ZONE             quota day time zone of the embedded authority (default UTC)
  --log-level L         fatal|error|warn|info|debug (default warn)`;

export class StartUsageError extends Error {}

export interface RunningStation {
  core: StationCore;
  url: string;
  port: number;
  authorityUrl: string;
  close(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function intArg(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new StartUsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

/**
 * The demo bench: cameras of the QR product first (the ones a QR batch reaches), then, on a bench of
 * 16 or more, a few that fail the way real ones do (no unbind mechanism, firmware too old).
 */
function benchDevices(demo: DemoExport, count: number): DemoExport['devices'] {
  const qr = demo.devices.filter((d) => d.pid === 'pqr1cam' && d.bound);
  const failing = [
    ...demo.devices.filter((d) => d.pid === 'plegacy1' && d.bound).slice(0, 2),
    ...demo.devices.filter((d) => d.pid === 'pfwcam2' && d.bound && d.firmware === '2.0.3').slice(0, 2),
  ].slice(0, Math.min(4, Math.floor(count / 16)));
  return [...qr.slice(0, count - failing.length), ...failing];
}

export async function startStation(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<RunningStation> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string', default: '8790' },
      data: { type: 'string', default: '.data' },
      authority: { type: 'string' },
      'demo-export': { type: 'string' },
      'authority-port': { type: 'string', default: '8787' },
      'no-bench': { type: 'boolean', default: false },
      'bench-devices': { type: 'string', default: '64' },
      'bench-wired': { type: 'string', default: '24' },
      'bench-uart': { type: 'string', default: '3' },
      'bench-scanner': { type: 'boolean', default: false },
      'lan-interface': { type: 'string', default: '127.0.0.1' },
      'no-lan': { type: 'boolean', default: false },
      'mdns-port': { type: 'string', default: '5353' },
      'sadp-port': { type: 'string', default: '37020' },
      tz: { type: 'string', default: 'UTC' },
      'log-level': { type: 'string', default: 'warn' },
    },
  });
  const port = intArg('port', values.port, 0, 65535);
  const benchCount = intArg('bench-devices', values['bench-devices'], 1, 10_000);
  const wiredCount = intArg('bench-wired', values['bench-wired'], 0, 1000);
  const uartCount = intArg('bench-uart', values['bench-uart'], 0, 64);
  const mdnsPort = intArg('mdns-port', values['mdns-port'], 1, 65535);
  const sadpPort = intArg('sadp-port', values['sadp-port'], 1, 65535);
  if (values.authority && !URL.canParse(values.authority)) throw new StartUsageError(`--authority ${values.authority} is not a URL`);
  const dataDir = resolve(values.data);
  mkdirSync(dataDir, { recursive: true });

  let authority: RunningAuthority | null = null;
  let authorityUrl: string;
  let demo: DemoExport | null = null;
  if (values.authority) {
    authorityUrl = values.authority.replace(/\/$/, '');
    if (values['demo-export']) demo = demoExportSchema.parse(JSON.parse(readFileSync(values['demo-export'], 'utf8')));
  } else {
    authority = await startAuthority({
      dbPath: join(dataDir, 'authority.db'),
      port: intArg('authority-port', values['authority-port'], 0, 65535),
      demo: true,
      timeZone: values.tz,
      logLevel: values['log-level'],
    });
    authorityUrl = authority.url;
    demo = authority.exportDemo();
    // For `unbind fleet` and scripts run beside the demo; it holds demo secrets, so owner-only.
    writeFileSync(join(dataDir, 'demo-export.json'), JSON.stringify(demo, null, 2), { mode: 0o600 });
  }

  const stationId = `${hostname()}-station`;
  const hub = createEventHub();
  // History days follow the same zone as the quota day, so the charts and the quota agree.
  const history = openHistoryStore(join(dataDir, 'history.db'), { timeZone: values.tz });
  const store = openBatchStore(join(dataDir, 'batches.db'));
  const batches = createBatchService({ store, history, stationId, emit: hub.emit });
  const withBench = !values['no-bench'] && demo !== null;
  const sessions = createSessionManager({
    authorityUrl,
    stationId,
    demoAccounts: demo ? demo.accounts.map((a) => ({ accountId: a.accountId, name: a.name, role: a.role, region: a.region, clientId: a.clientId, secret: a.secret })) : [],
    demoWifi: withBench ? { ssid: DEFAULT_BENCH_SSID, password: DEFAULT_BENCH_PASSWORD } : null,
  });

  const secret = randomBytes(24).toString('base64url');
  const closers: Array<() => Promise<unknown> | unknown> = [];
  const lan = values['no-lan'] ? null : await startLanSweep({ interface: values['lan-interface'], mdnsPort, sadpPort });
  if (lan) closers.push(() => lan.close());

  // The demo bench's UART gateways exist before the serial settings that name their ports.
  const regionUrls = demo ? Object.fromEntries([...new Set(demo.devices.map((d) => d.region))].map((r) => [r, authorityUrl])) : {};
  const ptyDir = join(dataDir, 'pty');
  let uartBench: UartBench | null = null;
  let scanner: VirtualScanner | null = null;
  if (withBench && demo && uartCount > 0) {
    mkdirSync(ptyDir, { recursive: true });
    try {
      uartBench = await startUartBench({ devices: demo.devices.filter((d) => d.pid === 'pgw1uart' && d.bound).slice(0, uartCount), regionUrls, ptyDir, log: () => undefined });
      closers.push(() => uartBench?.close());
    } catch (err) {
      out(`  no UART bench: ${(err as Error).message}`);
    }
    if (values['bench-scanner'] && uartBench) {
      scanner = await startVirtualScanner({ labels: uartBench.gateways.map((g) => g.serial), wrong: 1, ptyDir, intervalMs: 1500 });
      closers.push(() => scanner?.close());
    }
  }
  let core: StationCore | null = null;
  const serial = await startSerialService({
    file: join(dataDir, 'serial-settings.json'),
    defaults: { scannerPort: scanner?.stationPath ?? null, uartPorts: uartBench ? uartBench.gateways.map((g) => g.stationPath) : [] },
    onLabel: (label) => core?.routeLabel(label),
    onStatus: (status) => hub.emit({ type: 'serial', status }),
  });
  closers.push(() => serial.close());

  core = createStationCore({ sessions, batches, history, hub, bench: null, lan, serial, timeZone: values.tz, log: (msg, f) => process.stderr.write(`${msg} ${JSON.stringify(f ?? {})}\n`) });
  if (lan) {
    let pending: NodeJS.Timeout | null = null;
    // A sweep changes in bursts (a bench powering up): one list per burst is enough for the screen.
    lan.on('change', () => {
      pending ??= setTimeout(() => {
        pending = null;
        hub.emit({ type: 'lan', devices: core!.getLanDevices() });
      }, 100);
    });
  }
  const app = buildStationServer({ core, secret, rendererDir: join(ROOT, 'dist/renderer'), logLevel: values['log-level'] });
  await app.listen({ port, host: '127.0.0.1' });
  const addr = app.server.address();
  const stationPort = typeof addr === 'object' && addr ? addr.port : port;
  const base = `http://127.0.0.1:${stationPort}`;

  let fleet: Fleet | null = null;
  let wiredBench: WiredBench | null = null;
  let stopBenchWatch = (): void => undefined;
  if (withBench && demo) {
    fleet = await startFleet({
      devices: benchDevices(demo, benchCount),
      regionUrls,
      bench: { networks: DEFAULT_BENCH_NETWORKS },
      qrSource: { url: `${base}/bench/screen?key=${secret}`, pollMs: 300 },
      // The operator holds each code before the devices of the batch only, not the whole bench.
      overflow: 'ignore',
      log: () => undefined,
    });
    if (wiredCount > 0 && lan) {
      const wiredPids = new Set(demo.products.filter((p) => ['nvr', 'dvr', 'gateway'].includes(p.category)).map((p) => p.pid));
      // Round robin over the wired products, so the bench holds NVRs and DVRs alike.
      const byPid = [...wiredPids].filter((pid) => pid !== 'pgw1uart').map((pid) => demo.devices.filter((d) => d.pid === pid && d.bound));
      const wired = Array.from({ length: Math.max(...byPid.map((l) => l.length)) }, (_, i) => byPid.map((l) => l[i]).filter((d) => d !== undefined))
        .flat()
        .slice(0, wiredCount);
      wiredBench = await startWiredBench({
        devices: wired,
        regionUrls,
        products: demo.products,
        lanInterface: values['lan-interface'],
        mdnsPort,
        sadpPort,
        // A realistic bench: one device never reset, one whose DHCP failed.
        faults: parseWiredFaultSpec(wired.length >= 4 ? 'notreset=1,dhcp=1' : ''),
        log: () => undefined,
      });
    }
    const link = createBenchLink([fleet, ...(wiredBench ? [wiredBench] : []), ...(uartBench ? [uartBench] : [])]);
    core.attachBench(link);
    stopBenchWatch = link.watch((devices) => hub.emit({ type: 'bench', devices }));
  }

  const url = `${base}/?key=${secret}`;
  out(`Unbind Station: ${url}`);
  out(`  authority ${authorityUrl}${authority ? ` (embedded, demo world; accounts and devices in ${join(dataDir, 'demo-export.json')})` : ''}; data in ${dataDir}`);
  if (fleet) out(`  virtual bench: ${fleet.devices.length} QR cameras (Wi-Fi "${DEFAULT_BENCH_SSID}" / "${DEFAULT_BENCH_PASSWORD}"), ${wiredBench?.devices.length ?? 0} wired devices, ${uartBench?.gateways.length ?? 0} UART gateways`);
  if (lan) out(`  LAN sweep on ${values['lan-interface']} (mDNS ${mdnsPort}, SADP ${sadpPort})`);
  return {
    core,
    url,
    port: stationPort,
    authorityUrl,
    async close() {
      stopBenchWatch();
      batches.close();
      await app.close();
      await fleet?.close();
      await wiredBench?.close();
      for (const close of closers.reverse()) await close();
      store.close();
      history.close();
      await authority?.close();
    },
  };
}
