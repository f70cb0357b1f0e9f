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

/** The live list: mDNS entries (with SADP fields of the same serial), then devices seen only by SADP. */
export function mergeLanDevices(mdns: readonly Omit<MdnsLanDevice, 'sadp' | 'problem'>[], sadp: ReadonlyMap<string, SadpSeen>): LanDevice[] {
  const out: LanDevice[] = [];
  const matched = new Set<string>();
  for (const d of mdns) {
    const seen = sadp.get(d.sn);
    if (seen) matched.add(d.sn);
    out.push({ ...d, sadp: seen?.fields ?? null, problem: seen?.fields.dhcpFailed ? dhcpProblem : null, lastSeen: Math.max(d.lastSeen, seen?.at ?? 0) });
  }
  for (const [serial, seen] of sadp) {
    if (matched.has(serial)) continue;
    out.push({
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
    });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Whether two entries differ in anything worth an event: not when they were last heard from, nor
 * the SADP Uuid (devices echo each probe's own Uuid, so it changes every probe).
 */
export function sameLanDevice(a: LanDevice, b: LanDevice): boolean {
  const comparable = (d: LanDevice): string => JSON.stringify({ ...d, lastSeen: 0, sadp: d.sadp && { ...d.sadp, uuid: null } });
  return comparable(a) === comparable(b);
}
