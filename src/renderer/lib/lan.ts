import { LIGHTS, type Light } from '../../protocol/device-states.js';
import type { LanDeviceView } from '../../protocol/station-api.js';

/** The device ids a wired batch request accepts (startWiredBatchRequestSchema). */
const DEV_ID = /^[A-Za-z0-9_-]{4,64}$/;

/**
 * Whether the operator may pick this entry for a wired batch: an mDNS entry (it has a local API and a
 * devId), reset and ready (`waiting`), with no known problem. SADP-only entries never are.
 */
export function isSelectable(d: LanDeviceView): boolean {
  return d.source === 'mdns' && d.devId !== null && DEV_ID.test(d.devId) && d.state === 'waiting' && d.problem === null;
}

/** Why an entry cannot be selected, in the operator's words; null when it can. */
export function whyNotSelectable(d: LanDeviceView): string | null {
  if (d.problem) return d.problem.hint;
  if (d.source === 'sadp' || d.devId === null) return 'Seen by SADP only: it does not advertise the unbind service.';
  if (!DEV_ID.test(d.devId)) return `The device id ${d.devId} cannot be used in a batch.`;
  if (d.state !== 'waiting') return `In state ${d.state ?? 'unknown'}: only devices that are reset (waiting) can be unbound.`;
  return null;
}

export function lanAddress(d: Pick<LanDeviceView, 'address' | 'port'>): string {
  return d.port === null ? d.address : `${d.address}:${d.port}`;
}

/** 0.0.0.0: the device got no address from DHCP (DESIGN §4.7). */
export function dhcpFailed(d: Pick<LanDeviceView, 'address'>): boolean {
  return d.address === '0.0.0.0';
}

export function sourceLabel(source: LanDeviceView['source']): string {
  return source === 'mdns' ? 'mDNS' : 'SADP';
}

export function lanLight(d: Pick<LanDeviceView, 'state'>): Light | null {
  return d.state ? LIGHTS[d.state] : null;
}

export function devicesText(n: number): string {
  return `${n} device${n === 1 ? '' : 's'}`;
}
