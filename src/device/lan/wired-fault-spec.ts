import { assignFaults, FaultSpecError, parseFaultSpec, type FaultSpec } from '../bench/fault-spec.js';
import type { WiredFaults } from './wired-device.js';

/**
 * Faults for the wired bench, in the fleet's grammar (bench/fault-spec.ts): `ipchange=2,notreset=1,dhcp=3,
 * unreachable=1,latency=200ms`, counts taken in fleet order, or `KIND=devA+devB`.
 *   ipchange    the device's IP changes while its request is in flight: NETWORK_CHANGED
 *   notreset    never reset: not advertised, refuses tokens (NOT_WAITING) until reset
 *   dhcp        no DHCP lease: SADP shows 0.0.0.0, no mDNS, no local API
 *   unreachable no route to the authority: CLOUD_UNREACHABLE
 * The counting and naming rules are the fleet's own; `ipchange` is its `netchange` on a wire.
 */
export const WIRED_FAULT_KINDS = ['ipchange', 'notreset', 'dhcp', 'unreachable'] as const;

export interface AssignedWiredFaults {
  faults: WiredFaults;
  notReset: boolean;
}

export function parseWiredFaultSpec(spec: string): FaultSpec {
  const known = new Set<string>([...WIRED_FAULT_KINDS, 'latency']);
  const entries = spec.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const kind = entry.split('=')[0]!.trim().toLowerCase();
    if (!known.has(kind)) throw new FaultSpecError(`unknown wired fault "${kind}"; known: ${[...known].join(', ')}`);
  }
  try {
    return parseFaultSpec(entries.map((e) => e.replace(/^\s*ipchange\s*=/i, 'netchange=')).join(','));
  } catch (err) {
    if (err instanceof FaultSpecError) throw new FaultSpecError(err.message.replace(/netchange/g, 'ipchange'));
    throw err;
  }
}

export function assignWiredFaults(spec: FaultSpec, devIds: readonly string[]): Map<string, AssignedWiredFaults> {
  let assigned;
  try {
    assigned = assignFaults(spec, devIds);
  } catch (err) {
    if (err instanceof FaultSpecError) throw new FaultSpecError(err.message.replace(/netchange/g, 'ipchange'));
    throw err;
  }
  const out = new Map<string, AssignedWiredFaults>();
  for (const [devId, a] of assigned) {
    const f = a.faults;
    out.set(devId, {
      notReset: a.notReset,
      faults: {
        ...(f.dhcp ? { dhcp: true } : {}),
        ...(f.unreachable ? { unreachable: true } : {}),
        ...(f.networkChange ? { ipChange: true } : {}),
        ...(f.latencyMs ? { latencyMs: f.latencyMs } : {}),
      },
    });
  }
  return out;
}
