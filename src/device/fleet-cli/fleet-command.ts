import { parseArgs } from 'node:util';
import { pidSchema, wifiCredentialsSchema } from '../../protocol/index.js';
import { DEFAULT_BENCH_NETWORKS, DEFAULT_BENCH_PASSWORD, DEFAULT_BENCH_SSID, type BenchNetwork } from '../bench/bench-network.js';
import { readDemoExport, type DemoExport } from '../bench/demo-export.js';
import { FaultSpecError, parseFaultSpec, type FaultSpec } from '../bench/fault-spec.js';
import { DEFAULT_POLL_MS, startFleet, type Fleet } from '../qr-camera/camera-fleet.js';
import { startStatusServer, type FleetControl, type StatusServer } from '../bench/fleet-status-server.js';
import { describeSource, qrSourceFromArg } from '../qr-camera/qr-source.js';
import { startWiredBench, type WiredBench } from '../lan/wired-bench.js';
import { selectWiredFleet, WIRED_FLEET_ARGS, WIRED_FLEET_USAGE, WiredUsageError, type WiredFleetSelection } from './wired-fleet-options.js';

export const FLEET_USAGE = `usage: unbind fleet --devices FILE [options]

Runs virtual devices with cameras pointed at the station's screens.

  --devices FILE        the authority's demo export (JSON: authorityUrl, accounts, products, devices)
  --pid P               only devices of product P (repeatable)
  --count N             the first N devices after the --pid filter
  --faults SPEC         e.g. dhcp=3,unreachable=2,netchange=1,powerloss=1,notreset=1,latency=200ms
                        KIND=N: the next N healthy devices in order; KIND=devA+devB: those devices
  --qr-source URL|FILE  a screen: one PNG, or JSON {codes:[{id,png,capacity?}]} (repeatable)
  --poll-ms MS          how often the cameras look (default ${DEFAULT_POLL_MS})
  --status-port P       serve GET /status, POST /devices/:devId/reset, POST /reset-all on 127.0.0.1:P
  --wifi SSID:PASSWORD  a bench network with DHCP, split at the first ":" (repeatable;
                        default ${DEFAULT_BENCH_SSID}:${DEFAULT_BENCH_PASSWORD})
  --authority URL       the authority for every region (default: the export's authorityUrl)

${WIRED_FLEET_USAGE}

Runs until interrupted (Ctrl-C).`;

export interface FleetCommandIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Stops the fleet (tests); without it, SIGINT or SIGTERM does. */
  signal?: AbortSignal;
  onReady?: (fleet: Fleet) => void;
  /** With --wired: the wired bench, once it runs. */
  onWiredReady?: (bench: WiredBench) => void;
}

class UsageError extends Error {}

function parseInteger(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

function parseWifi(args: string[] | undefined): Record<string, BenchNetwork> {
  if (!args?.length) return { ...DEFAULT_BENCH_NETWORKS };
  const networks: Record<string, BenchNetwork> = {};
  for (const arg of args) {
    const colon = arg.indexOf(':');
    if (colon < 1) throw new UsageError(`--wifi needs SSID:PASSWORD, got "${arg}"`);
    const ssid = arg.slice(0, colon);
    const password = arg.slice(colon + 1);
    // The station's own limits (DESIGN §4.1): a bench network no pairing code could name is a typo.
    const checked = wifiCredentialsSchema.safeParse({ ssid, password });
    if (!checked.success) throw new UsageError(`--wifi "${ssid}": ${checked.error.issues[0]?.message ?? 'not a valid network'}`);
    networks[ssid] = { password, dhcp: true };
  }
  return networks;
}

function selectDevices(data: DemoExport, pids: string[] | undefined, count: number | undefined): DemoExport['devices'] {
  const wanted = new Set(pids ?? []);
  const matching = wanted.size ? data.devices.filter((d) => wanted.has(d.pid)) : data.devices;
  if (matching.length === 0) throw new UsageError(wanted.size ? `no device of product ${[...wanted].join(', ')} in the export` : 'the export has no devices');
  if (count !== undefined && count > matching.length) throw new UsageError(`--count ${count}: only ${matching.length} matching devices in the export`);
  return count === undefined ? matching : matching.slice(0, count);
}

/** Every region the export mentions maps to the one authority (the demo runs one for all regions). */
function regionTable(data: DemoExport, authority: string): Record<string, string> {
  const regions = new Set([...data.devices.map((d) => d.region), ...data.accounts.map((a) => a.region)]);
  return Object.fromEntries([...regions].map((r) => [r, authority]));
}

/** One status port for the QR cameras and the wired devices. */
function combinedControl(fleet: Fleet, bench: WiredBench): FleetControl {
  return {
    statuses: () => [...fleet.status(), ...bench.status()],
    details: (devId) => fleet.device(devId)?.details() ?? bench.control.details(devId),
    resetDevice: (devId) => fleet.resetDevice(devId) || bench.resetDevice(devId),
    resetAll: () => fleet.resetAll() + bench.resetAll(),
  };
}

function describeWired(bench: WiredBench, sel: WiredFleetSelection): string {
  const perPid = new Map<string, number>();
  for (const d of sel.devices) perPid.set(d.pid, (perPid.get(d.pid) ?? 0) + 1);
  return (
    `fleet: wired bench: ${sel.devices.length} devices (${[...perPid].map(([p, n]) => `${p} ${n}`).join(', ')}), ` +
    `LAN ${bench.lan.name} (${bench.lan.address}), mDNS port ${sel.mdnsPort ?? 5353}, SADP port ${sel.sadpPort ?? 37020}`
  );
}

/** `unbind fleet …`: 0 after a clean stop, 2 on bad arguments, 1 when the fleet cannot start. */
export async function runFleetCommand(argv: string[], io: FleetCommandIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  let fleet: Fleet;
  let bench: WiredBench | null = null;
  let sharedStatus: StatusServer | null = null;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        devices: { type: 'string' },
        count: { type: 'string' },
        pid: { type: 'string', multiple: true },
        faults: { type: 'string' },
        'qr-source': { type: 'string', multiple: true },
        'poll-ms': { type: 'string' },
        'status-port': { type: 'string' },
        wifi: { type: 'string', multiple: true },
        authority: { type: 'string' },
        ...WIRED_FLEET_ARGS,
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      out(FLEET_USAGE);
      return 0;
    }
    if (!values.devices) throw new UsageError('--devices FILE is required');
    for (const pid of values.pid ?? []) if (!pidSchema.safeParse(pid).success) throw new UsageError(`--pid "${pid}" is not a product id`);
    const count = values.count === undefined ? undefined : parseInteger('count', values.count, 1, 100_000);
    const pollMs = values['poll-ms'] === undefined ? DEFAULT_POLL_MS : parseInteger('poll-ms', values['poll-ms'], 50, 3_600_000);
    const statusPort = values['status-port'] === undefined ? undefined : parseInteger('status-port', values['status-port'], 0, 65535);
    if (values.authority !== undefined && !URL.canParse(values.authority)) throw new UsageError(`--authority "${values.authority}" is not a URL`);
    let faults: FaultSpec | undefined;
    try {
      faults = values.faults === undefined ? undefined : parseFaultSpec(values.faults);
    } catch (e) {
      if (e instanceof FaultSpecError) throw new UsageError(`--faults: ${e.message}`);
      throw e;
    }
    const networks = parseWifi(values.wifi);
    let data: DemoExport;
    try {
      data = await readDemoExport(values.devices);
    } catch (e) {
      throw new UsageError(`--devices: ${e instanceof Error ? e.message : String(e)}`);
    }
    let wired: WiredFleetSelection | null;
    try {
      wired = selectWiredFleet(values, data);
    } catch (e) {
      if (e instanceof WiredUsageError) throw new UsageError(e.message);
      throw e;
    }
    const sources = (values['qr-source'] ?? []).map((s) => ({ ...qrSourceFromArg(s), pollMs }));
    let devices: DemoExport['devices'];
    if (!wired) devices = selectDevices(data, values.pid, count);
    else if (sources.length === 0) {
      // The wired bench alone: the QR options would select cameras nobody shows a code to.
      const qrOnly = (['pid', 'count', 'faults'] as const).find((k) => values[k] !== undefined);
      if (qrOnly) throw new UsageError(`--${qrOnly} selects QR cameras: with --wired it needs --qr-source`);
      devices = [];
    } else {
      const onBench = new Set(wired.devices.map((d) => d.devId));
      devices = selectDevices({ ...data, devices: data.devices.filter((d) => !onBench.has(d.devId)) }, values.pid, count);
    }
    const regionUrls = regionTable(data, values.authority ?? data.authorityUrl);
    try {
      fleet = await startFleet({
        devices,
        regionUrls,
        bench: { networks },
        qrSource: sources,
        ...(faults ? { faults } : {}),
        // With the wired bench, one status port serves both (below).
        ...(statusPort === undefined || wired ? {} : { statusPort }),
        log: out,
      });
    } catch (e) {
      if (e instanceof FaultSpecError) throw new UsageError(`--faults: ${e.message}`);
      throw e;
    }
    if (wired) {
      try {
        bench = await startWiredBench({
          devices: wired.devices,
          regionUrls,
          products: data.products,
          lanInterface: wired.lanInterface,
          ...(wired.faults ? { faults: wired.faults } : {}),
          ...(wired.mdnsPort ? { mdnsPort: wired.mdnsPort } : {}),
          ...(wired.sadpPort ? { sadpPort: wired.sadpPort } : {}),
          log: out,
        });
        if (statusPort !== undefined) sharedStatus = await startStatusServer(combinedControl(fleet, bench), statusPort);
      } catch (e) {
        await bench?.close();
        await fleet.close();
        throw e;
      }
      fleet = { ...fleet, statusUrl: sharedStatus?.url ?? null };
    }
    if (devices.length > 0 || !wired) {
      const perPid = new Map<string, number>();
      for (const d of devices) perPid.set(d.pid, (perPid.get(d.pid) ?? 0) + 1);
      out(`fleet: ${devices.length} devices (${[...perPid].map(([p, n]) => `${p} ${n}`).join(', ')}), Wi-Fi ${Object.keys(networks).map((s) => `"${s}"`).join(', ')}`);
      out(sources.length ? `fleet: watching ${sources.map(describeSource).join(', ')} every ${pollMs} ms` : 'fleet: no --qr-source, the cameras see no code');
    }
    if (bench && wired) out(describeWired(bench, wired));
    if (fleet.statusUrl) out(`fleet: status on ${fleet.statusUrl}/status`);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      err(`unbind fleet: ${e.message}`);
      err(FLEET_USAGE);
      return 2;
    }
    err(`unbind fleet: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }

  io.onReady?.(fleet);
  if (bench) io.onWiredReady?.(bench);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    if (io.signal?.aborted) return stop();
    io.signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await sharedStatus?.close();
  await bench?.close();
  await fleet.close();
  out('fleet: stopped');
  return 0;
}
