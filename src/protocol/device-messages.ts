import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema } from './failure-codes.js';
import { deviceStateSchema } from './device-states.js';
import { regionSchema, tokenStringSchema } from './token.js';

/** Identifiers as they travel on every wire. */
export const devIdSchema = z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'devId must be 4–64 URL-safe characters');
export const pidSchema = z.string().regex(/^[A-Za-z0-9_-]{3,32}$/, 'pid must be 3–32 URL-safe characters');
export const serialSchema = z.string().regex(/^[A-Za-z0-9_.\-/]{4,64}$/, 'serial must be 4–64 label characters');
/** At most 4 parts of 1–9 digits: compareFirmware reads each part exactly, and a `+INFO` line stays within MAX_SERIAL_LINE. */
export const firmwareSchema = z.string().regex(/^\d{1,9}(\.\d{1,9}){0,3}$/, 'firmware must be a dotted version such as 2.1.0');
export const nonceSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'nonce must be 16–64 URL-safe characters');

/** DESIGN §4.3: device → authority. */
export const deviceUnbindRequestSchema = z.strictObject({
  devId: devIdSchema,
  token: tokenStringSchema,
  ts: z.number().int().nonnegative(),
  nonce: nonceSchema,
  sig: z.string().regex(/^[0-9a-f]{64}$/, 'sig must be 64 lower-hex characters'),
});
export type DeviceUnbindRequest = z.infer<typeof deviceUnbindRequestSchema>;

export const deviceUnbindResponseSchema = z.object({
  result: unbindResultSchema,
  reason: failureCodeSchema.optional(),
  /** The answer decided earlier for this devId and token, told again to a device that lost it (§4.3). */
  replayed: z.literal(true).optional(),
});
export type DeviceUnbindResponse = z.infer<typeof deviceUnbindResponseSchema>;

/** `{code, message}`: every refusal that is not a checked unbind answer. */
export const apiErrorSchema = z.object({ code: z.string(), message: z.string() });
export type ApiError = z.infer<typeof apiErrorSchema>;

/** Compares dotted firmware versions numerically: -1, 0 or 1. */
export function compareFirmware(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** DESIGN §4.5: the device local API, served on the port the device advertises. */
export const deviceInfoSchema = z.object({
  devId: devIdSchema,
  pid: pidSchema,
  sn: serialSchema,
  fw: firmwareSchema,
  rg: regionSchema,
  st: deviceStateSchema,
  model: z.string().max(64).optional(),
});
export type DeviceInfo = z.infer<typeof deviceInfoSchema>;

export const deviceStatusSchema = z.object({
  st: deviceStateSchema,
  code: failureCodeSchema.optional(),
  result: unbindResultSchema.optional(),
  ip: z.string().optional(),
});
export type DeviceStatus = z.infer<typeof deviceStatusSchema>;

export const localUnbindRequestSchema = z.strictObject({ token: tokenStringSchema });
export const localUnbindResponseSchema = z.object({ accepted: z.boolean(), code: failureCodeSchema.optional() });

/** mDNS TXT record of `_iot-unbind._tcp` (DESIGN §4.5); all values are strings on the wire. */
export const MDNS_SERVICE_TYPE = 'iot-unbind';
export const mdnsTxtSchema = z.object({
  v: z.literal('1'),
  id: devIdSchema,
  pid: pidSchema,
  sn: serialSchema,
  fw: firmwareSchema,
  rg: regionSchema,
  st: deviceStateSchema,
});
export type MdnsTxt = z.infer<typeof mdnsTxtSchema>;
