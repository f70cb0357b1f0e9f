import type { DeviceState, FailureCode } from '../protocol/index.js';
import type { SadpFields } from './sadp-answer.js';

/**
 * One entry of the LAN sweep's live list. A device that advertises `_iot-unbind._tcp` (mDNS) has
 * everything the wired unbind needs: devId, product, serial, firmware, region, state, and the
 * address and port of its local API. A device seen only by SADP (DESIGN §4.7) is a Hikvision-style
 * device that does not advertise: listed so the operator sees it and why it cannot be unbound
 * (DHCP failed, or not reset). When both protocols see one device (same serial), the mDNS entry
 * carries the SADP fields.
 */
export interface LanProblem {
  code: FailureCode;
  hint: string;
}

interface LanDeviceCommon {
  /** Stable key of the entry: the devId, or `sadp:<DeviceSN>` for a device seen only by SADP. */
  key: string;
  sn: string;
  /** IPv4 address; 0.0.0.0 when the device's DHCP failed (SADP). */
  address: string;
  /** When the device was last heard from, epoch ms. */
  lastSeen: number;
  /** What SADP says about the device, when it answered a probe. */
  sadp: SadpFields | null;
  /** Why the device cannot be unbound as it is, with what to do. */
  problem: LanProblem | null;
}

export interface MdnsLanDevice extends LanDeviceCommon {
  source: 'mdns';
  devId: string;
  pid: string;
  fw: string;
  rg: string;
  st: DeviceState;
  /** Port of the device's local API (GET /info, POST /unbind, GET /status). */
  port: number;
  /** mDNS host and instance names, for diagnostics. */
  host: string;
  instance: string;
}

export interface SadpLanDevice extends LanDeviceCommon {
  source: 'sadp';
  devId: null;
  pid: null;
  /** SoftwareVersion as the device spells it. */
  fw: string | null;
  rg: null;
  st: null;
  /** HttpPort from the answer, if any. */
  port: number | null;
  sadp: SadpFields;
}

export type LanDevice = MdnsLanDevice | SadpLanDevice;

export type LanDeviceChange =
  | { kind: 'added'; device: LanDevice }
  | { kind: 'updated'; device: LanDevice; previous: LanDevice }
  | { kind: 'removed'; device: LanDevice };

/** A record or answer the sweep could not use; the sweep goes on without it. */
export interface MalformedReport {
  source: 'mdns' | 'sadp';
  /** Sender `address:port`. */
  from: string;
  /** The mDNS instance name, when there is one. */
  name: string | null;
  why: string;
  at: number;
}

export const DHCP_FAILED_HINT = 'DHCP failed: check the bench DHCP server or give the device a static IP with the vendor tool';
export const NOT_ADVERTISING_HINT =
  'Seen by SADP but not advertising _iot-unbind._tcp: the device is not reset (hold reset until the light blinks red fast), or it is not a product this station unbinds.';

const dhcpProblem: LanProblem = { code: 'DHCP_FAILED', hint: DHCP_FAILED_HINT };
const notAdvertising: LanProblem = { code: 'NOT_WAITING', hint: NOT_ADVERTISING_HINT };

export interface SadpSeen {
  fields: SadpFields;
  at: number;
}

/**
 * What a rebuild of the live list can reuse: the entry it made last time from the same mDNS entry
 * and the same SADP sighting (both kept by reference while nothing in them changed).
 */
export interface LanMergeReuse {
  readonly byMdns: WeakMap<object, { seen: SadpSeen | undefined; device: LanDevice }>;
  readonly bySadp: WeakMap<SadpSeen, LanDevice>;
}
export const newLanMergeReuse = (): LanMergeReuse => ({ byMdns: new WeakMap(), bySadp: new WeakMap() });

/** The live list: mDNS entries (with SADP fields of the same serial), then devices seen only by SADP. */
export function mergeLanDevices(
  mdns: readonly Omit<MdnsLanDevice, 'sadp' | 'problem'>[],
  sadp: ReadonlyMap<string, SadpSeen>,
  reuse: LanMergeReuse = newLanMergeReuse(),
): LanDevice[] {
  const out: LanDevice[] = [];
  const matched = new Set<string>();
  for (const d of mdns) {
    const seen = sadp.get(d.sn);
    if (seen) matched.add(d.sn);
    const before = reuse.byMdns.get(d);
    if (before && before.seen === seen) {
      out.push(before.device);
      continue;
    }
    const device: MdnsLanDevice = { ...d, sadp: seen?.fields ?? null, problem: seen?.fields.dhcpFailed ? dhcpProblem : null, lastSeen: Math.max(d.lastSeen, seen?.at ?? 0) };
    reuse.byMdns.set(d, { seen, device });
    out.push(device);
  }
  for (const [serial, seen] of sadp) {
    if (matched.has(serial)) continue;
    const before = reuse.bySadp.get(seen);
    if (before) {
      out.push(before);
      continue;
    }
    const device: SadpLanDevice = {
      key: `sadp:${serial}`,
      source: 'sadp',
      devId: null,
      pid: null,
      sn: serial,
      fw: seen.fields.firmware,
      rg: null,
      st: null,
      address: seen.fields.ipv4,
      port: seen.fields.httpPort,
      lastSeen: seen.at,
      sadp: seen.fields,
      problem: seen.fields.dhcpFailed ? dhcpProblem : notAdvertising,
    };
    reuse.bySadp.set(seen, device);
    out.push(device);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Whether two entries differ in anything worth an event: not when they were last heard from, nor
 * the SADP Uuid (devices echo each probe's own Uuid, so it changes every probe).
 */
export function sameLanDevice(a: LanDevice, b: LanDevice): boolean {
  if (a === b) return true;
  // Field by field, not by serialising both: the sweep compares every entry on every announcement.
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof LanDevice>) {
    if (k === 'lastSeen') continue;
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (k === 'sadp' || k === 'problem') {
      if (!sameFields(x as object | null, y as object | null, 'uuid')) return false;
      continue;
    }
    return false;
  }
  return true;
}

/** Two flat records (SADP fields, a problem) alike but for `ignored`. */
function sameFields(a: object | null, b: object | null, ignored: string): boolean {
  if (a === null || b === null) return a === b;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if (k !== ignored && x[k] !== y[k]) return false;
  return true;
}
