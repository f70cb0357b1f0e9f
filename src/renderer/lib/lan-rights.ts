import type { ProductView } from '../../protocol/cloud-api.js';
import { compareFirmware } from '../../protocol/device-messages.js';
import type { LanDeviceView } from '../../protocol/station-api.js';

/**
 * Whether the signed-in account may unbind a device it sees on the LAN, known before the click: the
 * product must be one it may unbind (DESIGN §7), have an unbind mechanism, and the firmware be recent
 * enough. The same checks the authority makes, from the same product views; null when none refuses.
 */
export type LanRightsRefusal =
  | { code: 'UNAUTHORIZED'; pid: string }
  | { code: 'UNSUPPORTED_PRODUCT'; pid: string; name: string }
  | { code: 'FIRMWARE_UNSUPPORTED'; pid: string; name: string; firmware: string; minFirmware: string };

export function lanRightsRefusal(d: Pick<LanDeviceView, 'pid' | 'firmware'>, products: readonly ProductView[]): LanRightsRefusal | null {
  if (d.pid === null) return null; // not an unbindable entry at all (SADP only): said elsewhere
  const p = products.find((x) => x.pid === d.pid);
  if (!p) return { code: 'UNAUTHORIZED', pid: d.pid };
  if (!p.unbindSupported) return { code: 'UNSUPPORTED_PRODUCT', pid: p.pid, name: p.name };
  if (p.minFirmware && d.firmware && compareFirmware(d.firmware, p.minFirmware) < 0) {
    return { code: 'FIRMWARE_UNSUPPORTED', pid: p.pid, name: p.name, firmware: d.firmware, minFirmware: p.minFirmware };
  }
  return null;
}

/** A product as the clerk reads it: its name with its PID; the PID alone when this account has no view of it. */
export function productLabel(pid: string, products: readonly Pick<ProductView, 'pid' | 'name'>[]): { name: string | null; pid: string } {
  return { name: products.find((p) => p.pid === pid)?.name ?? null, pid };
}
