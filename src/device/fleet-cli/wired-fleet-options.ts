import { pidSchema } from '../../protocol/index.js';
import type { DemoExport } from '../bench/demo-export.js';
import type { DeviceIdentity } from '../core/device-identity.js';
import { FaultSpecError, type FaultSpec } from '../bench/fault-spec.js';
import { DEFAULT_BENCH_LAN, resolveBenchLan } from '../lan/wired-multicast-socket.js';
import { assignWiredFaults, parseWiredFaultSpec } from '../lan/wired-fault-spec.js';

/** The `unbind fleet` options of the wired bench (see lan/wired-bench.ts), apart from the QR fleet's. */
export const WIRED_FLEET_USAGE = `Wired bench (NVRs, DVRs, gateways on the LAN: mDNS, SADP, local API):
  --wired N             run N wired devices of the export (products of category nvr, dvr, gateway)
  --wired-pid P         only wired devices of product P (repeatable)
  --wired-faults SPEC   e.g. ipchange=1,notreset=2,dhcp=1,unreachable=1,latency=200ms
  --lan-interface IF    interface name or IPv4 for mDNS and SADP (default ${DEFAULT_BENCH_LAN}: loopback)
  --mdns-port P         mDNS UDP port (default 5353)
  --sadp-port P         SADP UDP port (default 37020)
  With --wired, the QR cameras run only with --qr-source (and never on a wired device).`;

export const WIRED_FLEET_ARGS = {
  wired: { type: 'string' },
  'wired-pid': { type: 'string', multiple: true },
  'wired-faults': { type: 'string' },
  'lan-interface': { type: 'string' },
  'mdns-port': { type: 'string' },
  'sadp-port': { type: 'string' },
} as const;

export interface WiredFleetArgs {
  wired?: string;
  'wired-pid'?: string[];
  'wired-faults'?: string;
  'lan-interface'?: string;
  'mdns-port'?: string;
  'sadp-port'?: string;
}

export interface WiredFleetSelection {
  devices: DeviceIdentity[];
  faults?: FaultSpec;
  lanInterface: string;
  mdnsPort?: number;
  sadpPort?: number;
}

export class WiredUsageError extends Error {}

/** Product categories the wired bench runs: the ones a station reaches over the LAN. */
export const WIRED_CATEGORIES = ['nvr', 'dvr', 'gateway'];

function port(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new WiredUsageError(`--${name} must be a port from 1 to 65535, got "${text}"`);
  return Number(text);
}

/** Null without --wired; else the devices and settings of the wired bench. Throws WiredUsageError. */
export function selectWiredFleet(args: WiredFleetArgs, data: DemoExport): WiredFleetSelection | null {
  const stray = (['wired-pid', 'wired-faults', 'lan-interface', 'mdns-port', 'sadp-port'] as const).find((k) => args[k] !== undefined);
  if (args.wired === undefined) {
    if (stray) throw new WiredUsageError(`--${stray} needs --wired N`);
    return null;
  }
  if (!/^\d+$/.test(args.wired) || Number(args.wired) < 1 || Number(args.wired) > 100_000) throw new WiredUsageError(`--wired must be a whole number from 1 to 100000, got "${args.wired}"`);
  const count = Number(args.wired);
  for (const pid of args['wired-pid'] ?? []) if (!pidSchema.safeParse(pid).success) throw new WiredUsageError(`--wired-pid "${pid}" is not a product id`);
  const wiredPids = new Set(data.products.filter((p) => WIRED_CATEGORIES.includes(p.category)).map((p) => p.pid));
  const wanted = new Set(args['wired-pid'] ?? []);
  for (const pid of wanted) if (!wiredPids.has(pid)) throw new WiredUsageError(`--wired-pid ${pid} is not a wired product of the export (${[...wiredPids].join(', ') || 'none'})`);
  const matching = data.devices.filter((d) => (wanted.size ? wanted.has(d.pid) : wiredPids.has(d.pid)));
  if (matching.length < count) throw new WiredUsageError(`--wired ${count}: only ${matching.length} wired devices in the export`);
  const devices = matching.slice(0, count);
  const lanInterface = args['lan-interface'] ?? DEFAULT_BENCH_LAN;
  try {
    resolveBenchLan(lanInterface);
  } catch (e) {
    throw new WiredUsageError(`--lan-interface: ${e instanceof Error ? e.message : String(e)}`);
  }
  let faults: FaultSpec | undefined;
  try {
    if (args['wired-faults'] !== undefined) {
      faults = parseWiredFaultSpec(args['wired-faults']);
      assignWiredFaults(faults, devices.map((d) => d.devId)); // enough devices for the faults?
    }
  } catch (e) {
    if (e instanceof FaultSpecError) throw new WiredUsageError(`--wired-faults: ${e.message}`);
    throw e;
  }
  const mdnsPort = port('mdns-port', args['mdns-port']);
  const sadpPort = port('sadp-port', args['sadp-port']);
  return { devices, lanInterface, ...(faults ? { faults } : {}), ...(mdnsPort ? { mdnsPort } : {}), ...(sadpPort ? { sadpPort } : {}) };
}
