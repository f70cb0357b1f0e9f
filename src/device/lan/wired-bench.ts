import { z } from 'zod';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import type { StateChange } from '../core/device-core.js';
import { deviceIdentitySchema, type DeviceIdentity } from '../core/device-identity.js';
import type { FaultSpec } from '../bench/fault-spec.js';
import { startStatusServer, type FleetControl, type StatusServer } from '../bench/fleet-status-server.js';
import { macFor, type SadpIdentity } from './sadp-probe-match-xml.js';
import { startSadpResponder, type SadpResponder } from './sadp-responder.js';
import { createAddressPool, DEFAULT_ADDRESS_BASE } from './wired-address-pool.js';
import { WiredDevice, type WiredDeviceDetails } from './wired-device.js';
import { startDeviceApiServer, type DeviceApiServer } from './wired-device-api.js';
import { assignWiredFaults } from './wired-fault-spec.js';
import { startMdnsResponder, type BenchMdnsResponder } from './wired-mdns-responder.js';
import { DEFAULT_BENCH_LAN, resolveBenchLan, type BenchLan, type BenchMulticastRecord } from './wired-multicast-socket.js';

/**
 * The wired virtual bench: NVRs, DVRs and gateways on a LAN (loopback by default), each with its
 * own IP (127.77.0.x) serving its local API, advertising `_iot-unbind._tcp` while it is `waiting`
 * (and while it works on a token, with `st` following its state, debounced), withdrawing once it is
 * done; NVRs and DVRs also answer SADP probes like Hikvision devices. Faults: ipchange, notreset,
 * dhcp, unreachable, latency (wired-fault-spec.ts).
 *
 * Log lines: one per state change (`<ISO time> <devId> <from>→<to> [code | result | note]`) and
 * one per address change (`<ISO time> <devId> address <old> → <new>`).
 */
export interface WiredProductInfo {
  pid: string;
  category: string;
}

export interface WiredBenchOptions {
  devices: DeviceIdentity[];
  /** Authority base URL by region. */
  regionUrls: Record<string, string>;
  /** Product categories (`nvr`, `dvr`, `gateway`, from the demo export): NVRs and DVRs answer SADP. */
  products?: readonly WiredProductInfo[];
  /** LAN interface name or IPv4 address for mDNS and SADP (default 127.0.0.1). */
  lanInterface?: string;
  /** mDNS UDP port (default 5353) and SADP port (default 37020). */
  mdnsPort?: number;
  sadpPort?: number;
  /** Answer SADP probes (default true). */
  sadp?: boolean;
  /** First device address (default 127.77.0.1); later devices count up. */
  addressBase?: string;
  /** Local API port on every device's address (default 0: any free port, advertised in SRV). */
  apiPort?: number;
  /** Parsed with parseWiredFaultSpec. */
  faults?: FaultSpec;
  log?: (line: string) => void;
  requestTimeoutMs?: number;
  mdnsTtlSeconds?: number;
  /** State changes within this many ms make one re-announcement (default 50). */
  announceDebounceMs?: number;
  /** How long a finished device keeps advertising its final state before its goodbye, ms (default 2000). */
  withdrawAfterMs?: number;
  sadpJitterMs?: number;
  /** The devices' clock for their admin login (lockout, reset requests); Date.now by default. */
  clock?: () => number;
  /** Serve the fleet status API (GET /status, POST /devices/:devId/reset, …) on 127.0.0.1 at this port. */
  statusPort?: number;
}

export interface WiredBench {
  devices: WiredDevice[];
  lan: BenchLan;
  statusUrl: string | null;
  status(): FleetDeviceStatus[];
  device(devId: string): WiredDevice | undefined;
  /** Where the device's local API is now; null when it has no address (DHCP failed). */
  endpoint(devId: string): { address: string; port: number } | null;
  resetDevice(devId: string): boolean;
  resetAll(): number;
  /** For a status server shared with the QR fleet. */
  control: FleetControl;
  multicast(): { mdns: BenchMulticastRecord; sadp: BenchMulticastRecord | null };
  /** Resolves when no device works on a token and no address move is under way. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Runtime {
  device: WiredDevice;
  server: DeviceApiServer | null;
  hikvision: { model: string; deviceType: string; analog: number; digital: number } | null;
  moving: Promise<void>;
  announceTimer: NodeJS.Timeout | null;
  withdrawTimer: NodeJS.Timeout | null;
}

/** Hikvision-style model data for an NVR or DVR product; null for products that do not speak SADP. */
function hikvisionModel(pid: string, category: string | undefined): Runtime['hikvision'] {
  const kind = category ?? (/nvr/i.test(pid) ? 'nvr' : /dvr/i.test(pid) ? 'dvr' : undefined);
  const channels = Number(/(\d+)ch/i.exec(pid)?.[1] ?? (kind === 'nvr' ? 8 : 4));
  const ch = String(channels).padStart(2, '0');
  if (kind === 'nvr') return { model: `DS-76${ch}NI-Q1`, deviceType: '139711', analog: 0, digital: channels };
  if (kind === 'dvr') return { model: `DS-72${ch}HGHI-K1`, deviceType: '140545', analog: channels, digital: 0 };
  return null;
}

const regionUrlsSchema = z.record(z.string(), z.url({ protocol: /^https?$/ }));

function formatChange(c: StateChange): string {
  const why = c.code ?? c.result ?? c.note ?? '';
  return `${c.at} ${c.devId} ${c.from}→${c.to}${why ? ` ${why}` : ''}`;
}

export async function startWiredBench(options: WiredBenchOptions): Promise<WiredBench> {
  const identities = z.array(deviceIdentitySchema).parse(options.devices);
  const regionUrls = regionUrlsSchema.parse(options.regionUrls);
  const ids = identities.map((d) => d.devId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new Error(`device ${duplicate} is on the bench twice`);
  const log = options.log ?? ((line: string) => console.log(line));
  const lan = resolveBenchLan(options.lanInterface ?? DEFAULT_BENCH_LAN);
  const pool = createAddressPool(options.addressBase ?? DEFAULT_ADDRESS_BASE);
  const assigned = assignWiredFaults(options.faults ?? { selections: [] }, ids);
  const categories = new Map((options.products ?? []).map((p) => [p.pid, p.category]));
  const debounceMs = options.announceDebounceMs ?? 50;
  const withdrawAfterMs = options.withdrawAfterMs ?? 2000;
  const warn = (why: string): void => log(`${new Date().toISOString()} bench: ${why}`);

  const responder: BenchMdnsResponder = await startMdnsResponder({
    lan,
    ...(options.mdnsPort === undefined ? {} : { port: options.mdnsPort }),
    ...(options.mdnsTtlSeconds === undefined ? {} : { ttlSeconds: options.mdnsTtlSeconds }),
    onWarning: warn,
  });

  const runtimes: Runtime[] = identities.map((identity) => {
    const a = assigned.get(identity.devId);
    const hikvision = hikvisionModel(identity.pid, categories.get(identity.pid));
    const device = new WiredDevice({
      identity,
      regionUrls,
      faults: a?.faults ?? {},
      initialState: a?.notReset ? 'operating' : 'waiting',
      ...(hikvision ? { model: hikvision.model } : {}),
      renewLease: () => pool.next(),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
    return { device, server: null, hikvision, moving: Promise.resolve(), announceTimer: null, withdrawTimer: null };
  });
  const byId = new Map(runtimes.map((r) => [r.device.devId, r]));

  /** Advertises the device as it is now, or withdraws it when it must not advertise. */
  const advertise = (rt: Runtime): void => {
    const d = rt.device;
    if (!rt.server || !d.reachable || d.state === 'operating') return responder.withdraw(d.devId);
    responder.publish(d.devId, {
      instance: d.devId,
      host: d.devId,
      address: rt.server.address,
      port: rt.server.port,
      txt: { v: '1', id: d.devId, pid: d.pid, sn: d.serial, fw: d.firmware, rg: d.region, st: d.state },
    });
  };
  const clearTimers = (rt: Runtime): void => {
    if (rt.announceTimer) clearTimeout(rt.announceTimer);
    if (rt.withdrawTimer) clearTimeout(rt.withdrawTimer);
    rt.announceTimer = rt.withdrawTimer = null;
  };
  const onState = (rt: Runtime, c: StateChange): void => {
    log(formatChange(c));
    if (c.to === 'operating') {
      clearTimers(rt);
      return responder.withdraw(rt.device.devId);
    }
    if (rt.withdrawTimer) clearTimeout(rt.withdrawTimer);
    rt.withdrawTimer = null;
    // A burst of changes (waiting → unbinding → unbound in a few ms) makes one announcement.
    if (!rt.announceTimer) {
      rt.announceTimer = setTimeout(() => {
        rt.announceTimer = null;
        advertise(rt);
      }, debounceMs);
    }
    if (c.to === 'unbound' || c.to === 'failed') {
      // Done for good (until the next reset): the final state shows a moment, then a goodbye.
      rt.withdrawTimer = setTimeout(() => {
        rt.withdrawTimer = null;
        if (rt.device.state === 'unbound' || rt.device.state === 'failed') responder.withdraw(rt.device.devId);
      }, withdrawAfterMs);
    }
  };

  let sadp: SadpResponder | null = null;
  const servers: DeviceApiServer[] = [];
  try {
    if (options.sadp ?? true) {
      sadp = await startSadpResponder({
        lan,
        ...(options.sadpPort === undefined ? {} : { port: options.sadpPort }),
        ...(options.sadpJitterMs === undefined ? {} : { jitterMs: options.sadpJitterMs }),
        devices: () =>
          runtimes
            .filter((rt) => rt.hikvision)
            .map(
              (rt): SadpIdentity => ({
                serial: rt.device.serial,
                model: rt.hikvision!.model,
                deviceType: rt.hikvision!.deviceType,
                mac: macFor(rt.device.devId),
                ipv4: rt.device.ip ?? '0.0.0.0',
                httpPort: rt.server?.port ?? 80,
                firmware: rt.device.firmware,
                activated: rt.device.state === 'operating',
                analogChannels: rt.hikvision!.analog,
                digitalChannels: rt.hikvision!.digital,
              }),
            ),
        onWarning: warn,
      });
    }
    await Promise.all(
      runtimes.map(async (rt) => {
        if (rt.device.faults.dhcp) return; // no lease: no address to serve on
        const address = pool.next();
        rt.server = await startDeviceApiServer(rt.device, address, options.apiPort ?? 0);
        servers.push(rt.server);
        rt.device.assignAddress(address);
      }),
    );
  } catch (err) {
    await Promise.all([responder.close(), sadp?.close(), ...servers.map((s) => s.close())]);
    throw err;
  }

  for (const rt of runtimes) {
    rt.device.onStateChange((c) => onState(rt, c));
    rt.device.onAddressChange((from, to) => {
      log(`${new Date().toISOString()} ${rt.device.devId} address ${from} → ${to}`);
      // The old lease is gone at once; the device answers and announces on the new one.
      rt.moving = rt.moving
        .then(() => rt.server?.moveTo(to))
        .then(() => advertise(rt))
        .catch((err: unknown) => warn(`${rt.device.devId} could not move to ${to}: ${err instanceof Error ? err.message : String(err)}`));
    });
    advertise(rt);
  }

  const resetDevice = (devId: string): boolean => {
    const rt = byId.get(devId);
    if (!rt) return false;
    rt.device.reset();
    return true;
  };
  const statuses = (): FleetDeviceStatus[] => runtimes.map((r) => r.device.status());
  const details = (devId: string): (WiredDeviceDetails & { address: string | null; port: number | null }) | undefined => {
    const rt = byId.get(devId);
    return rt && { ...rt.device.details(), address: rt.server?.address ?? null, port: rt.server?.port ?? null };
  };
  const control: FleetControl = {
    statuses,
    details,
    resetDevice,
    resetAll: () => {
      for (const rt of runtimes) rt.device.reset();
      return runtimes.length;
    },
  };
  let status: StatusServer | null = null;
  if (options.statusPort !== undefined) status = await startStatusServer(control, options.statusPort);

  const idle = async (): Promise<void> => {
    await Promise.all(runtimes.map((r) => r.device.idle()));
    await Promise.all(runtimes.map((r) => r.moving));
  };

  return {
    devices: runtimes.map((r) => r.device),
    lan,
    statusUrl: status?.url ?? null,
    status: statuses,
    device: (devId) => byId.get(devId)?.device,
    endpoint: (devId) => {
      const rt = byId.get(devId);
      return rt?.server && rt.device.reachable ? { address: rt.server.address, port: rt.server.port } : null;
    },
    resetDevice,
    resetAll: control.resetAll,
    control,
    multicast: () => ({ mdns: responder.multicast, sadp: sadp?.multicast ?? null }),
    idle,
    async close() {
      await status?.close();
      for (const rt of runtimes) {
        clearTimers(rt);
        rt.device.stop();
      }
      await idle();
      await Promise.all([responder.close(), sadp?.close()]);
      await Promise.all(runtimes.map((rt) => rt.server?.close()));
    },
  };
}
