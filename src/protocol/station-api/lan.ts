import { z } from 'zod';
import { deviceStateSchema, type DeviceState } from '../device-states.js';
import { failureCodeSchema, type FailureCode } from '../failure-codes.js';
import { call, json } from './call-spec.js';

/** LAN domain: the live sweep of the bench LAN (mDNS and SADP). */

/** One entry of the LAN sweep (mDNS or SADP), as the wired screen lists it. */
export interface LanDeviceView {
  key: string;
  source: 'mdns' | 'sadp';
  devId: string | null;
  pid: string | null;
  serial: string;
  firmware: string | null;
  state: DeviceState | null;
  address: string;
  port: number | null;
  lastSeen: string;
  /** Why it cannot be unbound as it is (DHCP failed, not reset), with what to do. */
  problem: { code: FailureCode; hint: string } | null;
  /** SADP details of Hikvision-style devices. */
  sadp: { model: string | null; mac: string; dhcp: boolean | null; activated: boolean | null; deviceType: string | null } | null;
}

export const lanDeviceViewSchema = z.object({
  key: z.string(),
  source: z.enum(['mdns', 'sadp']),
  devId: z.string().nullable(),
  pid: z.string().nullable(),
  serial: z.string(),
  firmware: z.string().nullable(),
  state: deviceStateSchema.nullable(),
  address: z.string(),
  port: z.number().int().min(0).max(65_535).nullable(),
  lastSeen: z.string(),
  problem: z.object({ code: failureCodeSchema, hint: z.string() }).nullable(),
  sadp: z
    .object({ model: z.string().nullable(), mac: z.string(), dhcp: z.boolean().nullable(), activated: z.boolean().nullable(), deviceType: z.string().nullable() })
    .nullable(),
}) satisfies z.ZodType<LanDeviceView>;
export const lanDevicesSchema = z.array(lanDeviceViewSchema);

const devices = json<LanDeviceView[]>(lanDevicesSchema);
export const lanCalls = {
  /** The LAN sweep's live list (mDNS and SADP). */
  getLanDevices: call({ args: z.tuple([]), answer: devices, http: { method: 'GET', path: '/api/lan', args: [] } }),
  /** Queries mDNS and probes SADP now. */
  refreshLan: call({ args: z.tuple([]), answer: devices, http: { method: 'POST', path: '/api/lan/refresh', args: [] } }),
};
