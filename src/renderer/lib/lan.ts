import { LIGHTS, type Light } from '../../protocol/device-states.js';
import type { LanDeviceView } from '../../protocol/station-api.js';
import { i18n, t } from '../i18n/index.js';

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
  if (d.problem) return problemHint(d.problem);
  if (d.source === 'sadp' || d.devId === null) return t('wired.whySadpOnly');
  if (!DEV_ID.test(d.devId)) return t('wired.whyBadId', { id: d.devId });
  if (d.state !== 'waiting') return t('wired.whyState', { state: d.state ? t(`lights.state.${d.state}`) : t('wired.unknownState') });
  return null;
}

/**
 * A LAN device's problem in the chosen language: the sweep's own hint for its code (what it saw on the
 * LAN), else the §5 hint of the code, else the station's words.
 */
export function problemHint(p: NonNullable<LanDeviceView['problem']>): string {
  for (const key of [`lanProblem.${p.code}`, `failure.${p.code}`]) if (i18n.global.te(key, 'en')) return t(key);
  return p.hint;
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
  return t('wired.count', { n: i18n.global.n(n) });
}
