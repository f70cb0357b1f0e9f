import { z } from 'zod';
import { redactToken } from '../../protocol/index.js';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import type { BenchNetworks } from '../bench/bench-network.js';
import { assignCamerasToCodes, type Overflow } from './camera-view.js';
import type { StateChange } from '../core/device-core.js';
import { QrCamera } from './qr-camera.js';
import { deviceIdentitySchema, type DeviceIdentity } from '../core/device-identity.js';
import { assignFaults, type FaultSpec } from '../bench/fault-spec.js';
import { startStatusServer, type StatusServer } from '../bench/fleet-status-server.js';
import { createSharedDecoder, decodeCameraImage } from './qr-frame-decoder.js';
import { WARM_UP_CODE_PNG_BASE64 } from './warm-up-code.js';
import { describeSource, readScreen, type QrSourceSpec, type ShownCode } from './qr-source.js';

/**
 * The fleet of QR cameras: N devices with cameras pointed at the station's screens (see qr-source.ts for
 * what a screen serves and camera-view.ts for which camera sees which code).
 *
 * Every poll, each camera whose code changed is shown the new picture: a `waiting` device decodes
 * it and unbinds; a device that is not reset records NOT_WAITING; one at work ignores it and is
 * shown the picture again once it is done. A device also looks again after a reset from the status
 * port (standing for "reset it and hold the code before it"), but not after a restart from a power
 * loss: it waits in `waiting` for the next code, as the operator would have to show it one.
 *
 * Log lines: one per state change (`<ISO time> <devId> <from>→<to> [code | result | note]`), one per
 * new picture on a screen (what it decodes to), one per screen error (again only once it changes),
 * and one when a device that was never reset ignores a code.
 */
export interface FleetOptions {
  devices: DeviceIdentity[];
  /** Authority base URL by region. */
  regionUrls: Record<string, string>;
  bench: { networks: BenchNetworks };
  /** One screen or several; each `{url}` or `{file}`. pollMs: the shortest given wins (default 500). */
  qrSource?: (QrSourceSpec & { pollMs?: number }) | Array<QrSourceSpec & { pollMs?: number }>;
  faults?: FaultSpec;
  /** Cameras beyond the codes' capacity: crowd around the last code (default) or see nothing. */
  overflow?: Overflow;
  /** Serve GET /status etc. on 127.0.0.1 at this port (0: any free port). */
  statusPort?: number;
  /** One line per event (default: console.log). */
  log?: (line: string) => void;
  requestTimeoutMs?: number;
  wifiJoinMs?: number;
  restartMs?: number;
}

export interface Fleet {
  devices: QrCamera[];
  /** Base URL of the status port, when one was asked for. */
  statusUrl: string | null;
  status(): FleetDeviceStatus[];
  device(devId: string): QrCamera | undefined;
  resetDevice(devId: string): boolean;
  resetAll(): number;
  /** Looks at every screen now, instead of waiting for the next poll. */
  pollNow(): Promise<void>;
  /** Resolves when no device is working on a code. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_POLL_MS = 500;
const WARM_UP_DECODES = 8;

const regionUrlsSchema = z.record(z.string(), z.url({ protocol: /^https?$/ }));

function formatChange(c: StateChange): string {
  const why = c.code ?? c.result ?? c.note ?? '';
  return `${c.at} ${c.devId} ${c.from}→${c.to}${why ? ` ${why}` : ''}`;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const identities = z.array(deviceIdentitySchema).parse(options.devices);
  const regionUrls = regionUrlsSchema.parse(options.regionUrls);
  const ids = identities.map((d) => d.devId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new Error(`device ${duplicate} is in the fleet twice`);
  const log = options.log ?? ((line: string) => console.log(line));
  const assigned = assignFaults(options.faults ?? { selections: [] }, ids);
  const decode = createSharedDecoder();
  // The decoder warmed before the cameras look (its first decodes run unoptimized, several times slower).
  const warmUp = Buffer.from(WARM_UP_CODE_PNG_BASE64, 'base64');
  for (let i = 0; i < WARM_UP_DECODES; i++) decodeCameraImage(warmUp);

  const devices = identities.map((identity) => {
    const a = assigned.get(identity.devId);
    return new QrCamera({
      identity,
      networks: options.bench.networks,
      regionUrls,
      decode,
      ...(a ? { faults: a.faults, initialState: a.notReset ? 'operating' : 'waiting' } : {}),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.wifiJoinMs === undefined ? {} : { wifiJoinMs: options.wifiJoinMs }),
      ...(options.restartMs === undefined ? {} : { restartMs: options.restartMs }),
    });
  });
  const byId = new Map(devices.map((d) => [d.devId, d]));
  for (const d of devices) d.onStateChange((c) => log(formatChange(c)));

  const sources = options.qrSource === undefined ? [] : Array.isArray(options.qrSource) ? options.qrSource : [options.qrSource];
  const pollMs = Math.max(50, Math.min(...sources.map((s) => s.pollMs ?? DEFAULT_POLL_MS)));
  /** What each screen showed last; a screen that cannot be read keeps its last picture. */
  const screens: ShownCode[][] = sources.map(() => []);
  const screenErrors: Array<string | null> = sources.map(() => null);
  /** The picture hash each camera was last shown; cleared when the operator resets the device. */
  const lastShown = new Map<string, string>();
  const knownHashes = new Map<string, string>();
  const scans = new Set<Promise<unknown>>();

  /**
   * Who sees which code is decided when a code appears, and then kept while it stays on screen: the
   * operator holds a new code before the devices that are reset (waiting) at that moment and hold no
   * code still shown, in bench order, then the rest. A code leaving the screen (used up) hands nobody
   * the others: re-deciding then would show them to devices the batch is not for (overflow 'ignore').
   */
  let heldBefore = new Map<string, string[]>();
  function viewFor(codes: ShownCode[]): Map<string, number> {
    const ids = codes.map((c) => `${c.key}#${c.hash}`);
    const kept = new Map<string, string[]>();
    for (const id of ids) {
      const holders = heldBefore.get(id);
      if (holders) kept.set(id, holders);
    }
    const fresh = ids.map((id, i) => ({ id, i })).filter(({ id }, j, all) => !kept.has(id) && all.findIndex((o) => o.id === id) === j);
    // Codes for one product are held before that product's devices only; codes for any product share the rest.
    const groups = new Map<string | undefined, Array<{ id: string; i: number }>>();
    for (const f of fresh) groups.set(codes[f.i]!.pid, [...(groups.get(codes[f.i]!.pid) ?? []), f]);
    for (const [pid, group] of [...groups.entries()].sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : 0))) {
      const busy = new Set([...kept.values()].flat());
      const free = devices.filter((d) => !busy.has(d.devId) && (pid === undefined || d.pid === pid));
      const order = [...free.filter((d) => d.state === 'waiting'), ...free.filter((d) => d.state !== 'waiting')];
      const slots = assignCamerasToCodes(order.length, group.map(({ i }) => codes[i]!.capacity), options.overflow ?? 'crowd');
      group.forEach(({ id }, j) => kept.set(id, order.filter((_, k) => slots[k] === j).map((d) => d.devId)));
    }
    heldBefore = kept;
    const view = new Map<string, number>();
    ids.forEach((id, i) => {
      for (const devId of kept.get(id) ?? []) if (!view.has(devId)) view.set(devId, i);
    });
    return view;
  }

  async function lookAtScreens(): Promise<void> {
    await Promise.all(
      sources.map(async (spec, i) => {
        const read = await readScreen(spec, i);
        if (!read.ok) {
          if (screenErrors[i] !== read.error) log(`${new Date().toISOString()} screen ${describeSource(spec)}: ${read.error}`);
          screenErrors[i] = read.error;
          return;
        }
        screenErrors[i] = null;
        // Keep the previous Buffer when the bytes did not change, so the shared decoder's cache hits.
        screens[i] = read.codes.map((c) => screens[i]!.find((old) => old.key === c.key && old.hash === c.hash) ?? c);
      }),
    );
    const codes = screens.flat();
    const view = viewFor(codes);
    const viewers = codes.map((): QrCamera[] => []);
    for (const device of devices) viewers[view.get(device.devId) ?? -1]?.push(device);
    // Code by code: the cameras before a new code see it as soon as it is read, and the loop lets their
    // requests out before reading the next one, as cameras before different codes work side by side
    // (reading every code first held all 300 requests until the tenth code was decoded).
    for (const [i, code] of codes.entries()) {
      if (knownHashes.get(code.key) !== code.hash) {
        knownHashes.set(code.key, code.hash);
        const seen = decode(code.png);
        log(
          `${new Date().toISOString()} screen code ${code.key}: ` +
            (seen.ok ? `QR v${seen.version} for Wi-Fi "${seen.payload.s}", token ${redactToken(seen.payload.t)}` : `unreadable: ${seen.reason} ${seen.detail}`),
        );
        showCode(code, viewers[i]!);
        await new Promise((r) => setImmediate(r));
        if (closed) return;
      } else showCode(code, viewers[i]!);
    }
  }

  function showCode(code: ShownCode, viewers: QrCamera[]): void {
    viewers.forEach((device) => {
      if (lastShown.get(device.devId) === code.hash || device.state === 'unbinding') return;
      lastShown.set(device.devId, code.hash);
      const scan = device
        .scanImage(code.png)
        .then((outcome) => {
          // Finished devices ignoring a new code is routine; one never reset is what the operator must fix.
          if (outcome.kind === 'rejected' && outcome.reason === 'NOT_WAITING' && device.state === 'operating') {
            log(`${new Date().toISOString()} ${device.devId} operating: code ignored NOT_WAITING (not reset)`);
          }
        })
        .finally(() => scans.delete(scan));
      scans.add(scan);
    });
  }

  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<void> = Promise.resolve();
  const pollOnce = (): Promise<void> => {
    // One look at a time: a slow screen must not pile up overlapping polls.
    polling = polling.then(() => (closed ? undefined : lookAtScreens())).catch((err: unknown) => log(`${new Date().toISOString()} poll failed: ${String(err)}`));
    return polling;
  };
  const schedule = (): void => {
    if (closed || sources.length === 0) return;
    timer = setTimeout(() => void pollOnce().then(schedule), pollMs);
  };

  /** A reset device looks at its screen again at once, as one held before the code would. */
  const resetDevice = (devId: string): boolean => {
    const d = byId.get(devId);
    if (!d) return false;
    lastShown.delete(devId);
    d.reset();
    if (sources.length > 0) void pollOnce();
    return true;
  };
  const resetAll = (): number => {
    for (const d of devices) {
      lastShown.delete(d.devId);
      d.reset();
    }
    if (sources.length > 0) void pollOnce();
    return devices.length;
  };
  const statuses = (): FleetDeviceStatus[] => devices.map((d) => d.status());
  const control = { statuses, details: (devId: string) => byId.get(devId)?.details(), resetDevice, resetAll };

  let server: StatusServer | null = null;
  if (options.statusPort !== undefined) server = await startStatusServer(control, options.statusPort);
  if (sources.length > 0) {
    void pollOnce();
    schedule();
  }

  return {
    devices,
    statusUrl: server?.url ?? null,
    status: statuses,
    device: (devId) => byId.get(devId),
    resetDevice,
    resetAll,
    pollNow: pollOnce,
    idle: async () => {
      await polling;
      while (scans.size > 0) await Promise.allSettled([...scans]);
      await Promise.all(devices.map((d) => d.idle()));
    },
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      await polling;
      await server?.close();
      for (const d of devices) d.stop(); // a request still in flight must not hold the shutdown for its timeout
      await Promise.allSettled([...scans]);
      await Promise.all(devices.map((d) => d.idle()));
    },
  };
}
