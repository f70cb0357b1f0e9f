import { z } from 'zod';
import { deviceStateSchema, type DeviceState } from '../device-states.js';
import { failureCodeSchema, type FailureCode } from '../failure-codes.js';
import { call, json } from './call-spec.js';
import { batchIdSchema, batchViewSchema, type BatchView } from './batches.js';

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

/** A LAN entry's key, as the sweep lists it (a devId, or `sadp:<DeviceSN>`). */
const lanKeySchema = z.string().regex(/^(sadp:)?[A-Za-z0-9_.\-/]{4,64}$/, 'not a LAN entry key');
const adminPasswordArg = z.string().min(1).max(128);

/** DESIGN §4.8: unbind the selected not-reset devices with their admin password, typed once for the selection. */
export const startLocalUnbindRequestSchema = z.strictObject({ keys: z.array(lanKeySchema).min(1).max(1000), adminPassword: adminPasswordArg });
export type StartLocalUnbindRequest = z.infer<typeof startLocalUnbindRequestSchema>;

/** What a device of a local unbind told beyond its code: the attempts left (ADMIN_PASSWORD), the unlock time (DEVICE_LOCKED). */
export interface LocalUnbindDeviceView {
  devId: string;
  serial: string;
  pid: string;
  attemptsLeft: number | null;
  unlockAt: string | null;
}
export const localUnbindDeviceViewSchema = z.object({
  devId: z.string(),
  serial: z.string(),
  pid: z.string(),
  attemptsLeft: z.number().int().nullable(),
  unlockAt: z.string().nullable(),
}) satisfies z.ZodType<LocalUnbindDeviceView>;
export interface LocalUnbindView {
  batch: BatchView;
  devices: LocalUnbindDeviceView[];
}
export const localUnbindViewSchema = z.object({ batch: batchViewSchema, devices: z.array(localUnbindDeviceViewSchema) }) satisfies z.ZodType<LocalUnbindView>;

/** DESIGN §4.9: a device's reset request, as XML to save and as the text of a QR code (with its SVG). */
export interface ResetRequestView {
  devId: string;
  serial: string;
  challenge: string;
  issuedAt: string;
  expiresAt: string;
  xml: string;
  qrText: string;
  qrSvg: string;
}
export const resetRequestViewSchema = z.object({
  devId: z.string(),
  serial: z.string(),
  challenge: z.string(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  xml: z.string(),
  qrText: z.string(),
  qrSvg: z.string(),
}) satisfies z.ZodType<ResetRequestView>;
export const resetRequestArgsSchema = z.strictObject({ key: lanKeySchema });
export const applyResetCodeArgsSchema = z.strictObject({
  key: lanKeySchema,
  code: z.string().trim().toUpperCase().pipe(z.string().regex(/^[A-Z2-7]{12}$/, 'a reset code is 12 characters, A–Z and 2–7')),
  newPassword: adminPasswordArg,
});
export type ApplyResetCodeArgs = z.infer<typeof applyResetCodeArgsSchema>;

const devices = json<LanDeviceView[]>(lanDevicesSchema);
export const lanCalls = {
  /** The LAN sweep's live list (mDNS and SADP). */
  getLanDevices: call({ args: z.tuple([]), answer: devices, http: { method: 'GET', path: '/api/lan', args: [] } }),
  /** Queries mDNS and probes SADP now. */
  refreshLan: call({ args: z.tuple([]), answer: devices, http: { method: 'POST', path: '/api/lan/refresh', args: [] } }),
  /** A local-unbind batch (DESIGN §4.8) of the selected not-reset devices; results come as for a wired batch. */
  startLocalUnbind: call({
    args: z.tuple([startLocalUnbindRequestSchema]),
    answer: json<BatchView>(batchViewSchema),
    http: { method: 'POST', path: '/api/lan/local-unbind', args: [{ in: 'body' }], status: 201 },
  }),
  /** A local-unbind batch with what its devices told beyond their code (attempts left, unlock time). */
  getLocalUnbind: call({ args: z.tuple([batchIdSchema]), answer: json<LocalUnbindView>(localUnbindViewSchema), http: { method: 'GET', path: '/api/lan/local-unbind/:id', args: [{ in: 'param', name: 'id' }] } }),
  /** Reads a device's reset request over the LAN (DESIGN §4.9). */
  getResetRequest: call({ args: z.tuple([resetRequestArgsSchema]), answer: json<ResetRequestView>(resetRequestViewSchema), http: { method: 'POST', path: '/api/lan/reset-request', args: [{ in: 'body' }] } }),
  /** Applies the reset code of an approved case with the new admin password, once (DESIGN §4.9). */
  applyResetCode: call({
    args: z.tuple([applyResetCodeArgsSchema]),
    answer: json<{ devId: string; applied: true }>(z.object({ devId: z.string(), applied: z.literal(true) })),
    http: { method: 'POST', path: '/api/lan/reset-code', args: [{ in: 'body' }] },
  }),
};
