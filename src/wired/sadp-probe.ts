import { resolveLanInterface } from './lan-interface.js';
import type { SadpFields } from './sadp-answer.js';
import { openSadpListener } from './sadp-listener.js';

/**
 * One SADP inquiry (DESIGN §4.7) on its own: probe, collect answers for a window, report. The live
 * sweep (lan-sweep.ts) keeps a listener open instead; this is for a one-off look at the LAN.
 */
export interface SadpProbeOptions {
  /** LAN interface name or IPv4 address (default loopback). */
  interface?: string;
  port?: number;
  /** How long answers are collected, in ms (default 1500). */
  windowMs?: number;
}

export interface SadpSighting {
  fields: SadpFields;
  from: string;
  at: number;
}

export interface SadpRejection {
  from: string;
  why: string;
  at: number;
}

export interface SadpProbeResult {
  /** One per DeviceSN, the newest answer. */
  devices: SadpSighting[];
  rejected: SadpRejection[];
}

export async function probeSadp(opts: SadpProbeOptions = {}): Promise<SadpProbeResult> {
  const bySerial = new Map<string, SadpSighting>();
  const rejected: SadpRejection[] = [];
  const listener = await openSadpListener({
    lan: resolveLanInterface(opts.interface),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    onMatch: (fields, from, at) => bySerial.set(fields.serial, { fields, from, at }),
    onRejected: (from, why, at) => rejected.push({ from, why, at }),
  });
  try {
    await listener.probe();
    await new Promise((resolve) => setTimeout(resolve, opts.windowMs ?? 1500));
  } finally {
    await listener.close();
  }
  return { devices: [...bySerial.values()], rejected };
}
