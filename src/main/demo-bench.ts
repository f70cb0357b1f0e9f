import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoExport } from '../cloud/demo.js';
import type { BatchService } from '../batch/batch-service.js';
import { DEFAULT_BENCH_NETWORKS, parseFaultSpec } from '../device/bench/index.js';
import { startFleet, type Fleet } from '../device/qr-camera/index.js';
import { startWiredBench, type WiredBench } from '../device/lan/index.js';
import { parseWiredFaultSpec } from '../device/lan/index.js';
import { startUartBench, type UartBench } from '../device/uart/index.js';
import { startVirtualScanner, type VirtualScanner } from '../device/uart/index.js';
import { createBenchLink, type BenchLink } from './bench-link.js';
import { createBenchScreen, type BenchScreen } from './bench-screen.js';
import type { EventHub } from './event-hub.js';
import type { ServiceStack } from './service-stack.js';
import type { StationConfig } from './station-config.js';
import { NO_BENCH, type BenchHandlers, type StationCore } from './station-core.js';

/**
 * The demo bench, wired by itself so that the production station holds none of it: the virtual QR
 * cameras looking at the station's screen, the wired devices on the bench LAN, the UART gateways on
 * ptys, a virtual barcode scanner, and the screen those cameras look at. A station with a demo export
 * but `--no-bench` still serves the screen: `unbind fleet` may look at it from another process.
 */
export interface DemoBench {
  /** Before the serial settings: the UART gateways and scanner whose ports those settings name. */
  startSerialDevices(stack: ServiceStack, out: (line: string) => void): Promise<{ uartPorts: string[]; scannerPort: string | null }>;
  /** The screen and the bench's calls, once the station core exists. */
  attach(deps: { core: StationCore; batches: BatchService; hub: EventHub; stack: ServiceStack }): Promise<{ handlers: BenchHandlers; screen: BenchScreen }>;
  /** After the station listens: the cameras need the screen's URL. */
  startDevices(stack: ServiceStack, screenUrl: string): Promise<void>;
  /** The summary line `unbind start` prints, or null without devices. */
  summary(ssid: string, password: string): string | null;
}

/**
 * The demo bench's cameras: those of the QR product first (the ones a QR batch reaches), then, on a bench
 * of 16 or more, a few that fail the way real ones do (no unbind mechanism, firmware too old).
 */
function benchCameras(demo: DemoExport, count: number, pids: readonly string[] = ['pqr1cam']): DemoExport['devices'] {
  // Shared evenly between the QR products, those of a product with a minimum firmware that meet it.
  const product = (pid: string) => demo.products.find((p) => p.pid === pid);
  const meets = (fw: string, min: string | null | undefined): boolean => !min || fw.localeCompare(min, 'en', { numeric: true }) >= 0;
  const perPid = pids.map((pid) => demo.devices.filter((d) => d.pid === pid && d.bound && meets(d.firmware, product(pid)?.minFirmware)));
  const qr = Array.from({ length: Math.max(0, ...perPid.map((l) => l.length)) }, (_, i) => perPid.map((l) => l[i]).filter((d) => d !== undefined)).flat();
  const failing = [
    ...demo.devices.filter((d) => d.pid === 'plegacy1' && d.bound).slice(0, 2),
    ...demo.devices.filter((d) => d.pid === 'pfwcam2' && d.bound && d.firmware === '2.0.3').slice(0, 2),
  ].slice(0, Math.min(4, Math.floor(count / 16)));
  return [...qr.slice(0, count - failing.length), ...failing];
}

/** Round robin over the wired products (no UART gateway), so the bench holds NVRs and DVRs alike. */
function benchWiredDevices(demo: DemoExport, count: number): DemoExport['devices'] {
  const wiredPids = demo.products.filter((p) => ['nvr', 'dvr', 'gateway'].includes(p.category) && p.pid !== 'pgw1uart').map((p) => p.pid);
  const byPid = wiredPids.map((pid) => demo.devices.filter((d) => d.pid === pid && d.bound));
  return Array.from({ length: Math.max(...byPid.map((l) => l.length)) }, (_, i) => byPid.map((l) => l[i]).filter((d) => d !== undefined))
    .flat()
    .slice(0, count);
}

export function createDemoBench(config: StationConfig, demo: DemoExport, authorityUrl: string): DemoBench {
  const regionUrls = Object.fromEntries([...new Set(demo.devices.map((d) => d.region))].map((r) => [r, authorityUrl]));
  const ptyDir = join(config.dataDir, 'pty');
  let uartBench: UartBench | null = null;
  let scanner: VirtualScanner | null = null;
  let fleet: Fleet | null = null;
  let wiredBench: WiredBench | null = null;
  let link: BenchLink | null = null;
  let hub: EventHub | null = null;

  return {
    async startSerialDevices(stack, out) {
      if (config.bench && config.benchUart > 0) {
        mkdirSync(ptyDir, { recursive: true, mode: 0o700 });
        try {
          uartBench = await stack.start(
            'UART bench',
            () => startUartBench({ devices: demo.devices.filter((d) => d.pid === 'pgw1uart' && d.bound).slice(0, config.benchUart), regionUrls, ptyDir, log: () => undefined }),
            (b) => b.close(),
          );
        } catch (err) {
          out(`  no UART bench: ${(err as Error).message}`);
        }
        if (config.benchScanner && uartBench) {
          const labels = uartBench.gateways.map((g) => g.serial);
          scanner = await stack.start('virtual scanner', () => startVirtualScanner({ labels, wrong: 1, ptyDir, intervalMs: 1500 }), (s) => s.close());
        }
      }
      return { uartPorts: uartBench ? uartBench.gateways.map((g) => g.stationPath) : [], scannerPort: scanner?.stationPath ?? null };
    },

    async attach({ core, batches, hub: eventHub, stack }) {
      hub = eventHub;
      const screen = await stack.start('bench screen', () => createBenchScreen({ core, batches, hub: eventHub }), (s) => s.close());
      const handlers: BenchHandlers = {
        showCodes: (batchId, indexes) => screen.show(batchId, indexes),
        getBench: async () => (link ? link.status() : null),
        resetBenchDevice: async (devId) => (link ? link.reset(devId) : NO_BENCH.resetBenchDevice(devId)),
      };
      return { handlers, screen };
    },

    async startDevices(stack, screenUrl) {
      if (!config.bench) return;
      fleet = await stack.start(
        'virtual QR fleet',
        () =>
          startFleet({
            devices: benchCameras(demo, config.benchDevices, config.benchQrProducts),
            ...(config.benchQrFaults ? { faults: parseFaultSpec(config.benchQrFaults) } : {}),
            regionUrls,
            bench: { networks: DEFAULT_BENCH_NETWORKS },
            qrSource: { url: screenUrl, pollMs: 300 },
            // The operator holds each code before the devices of the batch only, not the whole bench.
            overflow: 'ignore',
            log: () => undefined,
          }),
        (f) => f.close(),
      );
      if (config.benchWired > 0 && config.lan) {
        const wired = benchWiredDevices(demo, config.benchWired);
        wiredBench = await stack.start(
          'wired bench',
          () =>
            startWiredBench({
              devices: wired,
              regionUrls,
              products: demo.products,
              lanInterface: config.lanInterface,
              mdnsPort: config.mdnsPort,
              sadpPort: config.sadpPort,
              // A realistic bench: devices never reset (one by default), one whose DHCP failed.
              faults: parseWiredFaultSpec(
                config.benchWiredFaults ?? (wired.length >= 4 ? `${config.benchNotReset > 0 ? `notreset=${config.benchNotReset},` : ''}dhcp=1` : ''),
              ),
              log: () => undefined,
            }),
          (b) => b.close(),
        );
      }
      const bench = createBenchLink([fleet, ...(wiredBench ? [wiredBench] : []), ...(uartBench ? [uartBench] : [])]);
      link = bench;
      // The bench's lights, pushed as they change (polled: each device owns its state).
      await stack.start('bench watch', () => bench.watch((devices) => hub?.emit({ type: 'bench', devices })), (stop) => stop());
    },

    summary(ssid, password) {
      if (!fleet) return null;
      return `  virtual bench: ${fleet.devices.length} QR cameras (Wi-Fi "${ssid}" / "${password}"), ${wiredBench?.devices.length ?? 0} wired devices, ${uartBench?.gateways.length ?? 0} UART gateways`;
    },
  };
}

