import { devIdSchema } from '../../protocol/index.js';
import type { DeviceFaults } from '../core/device-faults.js';

/**
 * Faults for a fleet, from a CLI string such as `dhcp=3,unreachable=2,netchange=1,powerloss=1,latency=200ms`.
 *
 * - `KIND=N` (digits): the next N devices of the fleet, in fleet order, that no earlier entry
 *   took, entries taken in the order written: `dhcp=3,unreachable=2` gives devices 1–3 a broken
 *   DHCP client and devices 4–5 no route to the authority. Disjoint, so every fault shows.
 * - `KIND=devA+devB`: exactly those devices (named devices are taken before counted ones).
 * - KIND is `dhcp`, `unreachable`, `netchange`, `powerloss` (see DeviceFaults), or `notreset`:
 *   the device was never reset and refuses every code (NOT_WAITING) until reset from the status port.
 * - `latency=200ms` (or `2s`, or bare milliseconds): a delay before every device's request.
 * Old firmware is not a fault here: it comes from the devices' data and the authority refuses it.
 */
export const DEVICE_FAULT_KINDS = ['dhcp', 'unreachable', 'netchange', 'powerloss', 'notreset'] as const;
export type DeviceFaultKind = (typeof DEVICE_FAULT_KINDS)[number];

export interface FaultSelection {
  kind: DeviceFaultKind;
  count?: number;
  devIds?: string[];
}
export interface FaultSpec {
  selections: FaultSelection[];
  latencyMs?: number;
}

export interface AssignedFaults {
  faults: DeviceFaults;
  notReset: boolean;
}

export class FaultSpecError extends Error {
  override name = 'FaultSpecError';
}

const MAX_LATENCY_MS = 600_000;

function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s)?$/.exec(text);
  if (!m) throw new FaultSpecError(`latency "${text}" is not a duration such as 200ms or 2s`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (ms > MAX_LATENCY_MS) throw new FaultSpecError(`latency ${text} is longer than ${MAX_LATENCY_MS / 1000}s`);
  return ms;
}

function isFaultKind(s: string): s is DeviceFaultKind {
  return (DEVICE_FAULT_KINDS as readonly string[]).includes(s);
}

export function parseFaultSpec(spec: string): FaultSpec {
  const result: FaultSpec = { selections: [] };
  const seen = new Set<string>();
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new FaultSpecError(`fault "${entry}" needs a value, as in dhcp=2`);
    const kind = entry.slice(0, eq).trim().toLowerCase();
    const value = entry.slice(eq + 1).trim();
    if (seen.has(kind)) throw new FaultSpecError(`fault "${kind}" is given twice`);
    seen.add(kind);
    if (kind === 'latency') {
      result.latencyMs = parseDuration(value);
      continue;
    }
    if (!isFaultKind(kind)) throw new FaultSpecError(`unknown fault "${kind}"; known: ${[...DEVICE_FAULT_KINDS, 'latency'].join(', ')}`);
    if (/^\d+$/.test(value)) {
      const count = Number(value);
      if (count < 1 || !Number.isSafeInteger(count)) throw new FaultSpecError(`fault "${kind}" needs a count of at least 1`);
      result.selections.push({ kind, count });
      continue;
    }
    const devIds = value.split('+').filter((d) => d.length > 0);
    if (devIds.length === 0) throw new FaultSpecError(`fault "${kind}" needs a count or devIds joined by "+"`);
    for (const d of devIds) {
      if (!devIdSchema.safeParse(d).success) throw new FaultSpecError(`fault "${kind}": "${d}" is not a devId`);
    }
    result.selections.push({ kind, devIds });
  }
  return result;
}

function apply(target: AssignedFaults, kind: DeviceFaultKind): void {
  if (kind === 'notreset') target.notReset = true;
  else if (kind === 'dhcp') target.faults.dhcp = true;
  else if (kind === 'unreachable') target.faults.unreachable = true;
  else if (kind === 'netchange') target.faults.networkChange = true;
  else target.faults.powerLoss = true;
}

/** Which device gets which fault, by devId; devices without one are absent from the map. */
export function assignFaults(spec: FaultSpec, devIds: readonly string[]): Map<string, AssignedFaults> {
  const out = new Map<string, AssignedFaults>();
  const entry = (devId: string): AssignedFaults => {
    let e = out.get(devId);
    if (!e) {
      e = { faults: spec.latencyMs ? { latencyMs: spec.latencyMs } : {}, notReset: false };
      out.set(devId, e);
    }
    return e;
  };
  const known = new Set(devIds);
  for (const sel of spec.selections) {
    for (const devId of sel.devIds ?? []) {
      if (!known.has(devId)) throw new FaultSpecError(`fault "${sel.kind}": device ${devId} is not in the fleet`);
      apply(entry(devId), sel.kind);
    }
  }
  const taken = new Set(out.keys());
  let next = 0;
  for (const sel of spec.selections) {
    if (sel.count === undefined) continue;
    for (let n = 0; n < sel.count; n++) {
      while (next < devIds.length && taken.has(devIds[next]!)) next++;
      if (next >= devIds.length) throw new FaultSpecError(`fault "${sel.kind}=${sel.count}": not enough devices left in a fleet of ${devIds.length}`);
      taken.add(devIds[next]!);
      apply(entry(devIds[next]!), sel.kind);
    }
  }
  if (spec.latencyMs) for (const devId of devIds) entry(devId);
  return out;
}
