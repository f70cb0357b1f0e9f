import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema } from './failure-codes.js';
import { DEVICE_STATES, deviceStateSchema } from './device-states.js';
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
  /** DESIGN §4.8: present when the device was unbound locally with its admin password (signed too). */
  method: z.literal('local').optional(),
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

/** A base64url salt or challenge of 16–64 bytes (DESIGN §4.8). */
export const adminSaltSchema = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/, 'adminSalt must be 16–64 bytes of base64url');
export const adminChallengeSchema = z.string().regex(/^[A-Za-z0-9_-]{16,86}$/, 'challenge must be 16–86 base64url characters');

/**
 * DESIGN §4.5: the device local API, served on the port the device advertises. A device in normal
 * operation (`operating`, not reset) answers it too for a local unbind (§4.8): with its `adminSalt` and a
 * fresh `challenge`.
 */
export const deviceInfoSchema = z.object({
  devId: devIdSchema,
  pid: pidSchema,
  sn: serialSchema,
  fw: firmwareSchema,
  rg: regionSchema,
  st: z.enum(['operating', ...DEVICE_STATES]),
  model: z.string().max(64).optional(),
  adminSalt: adminSaltSchema.optional(),
  challenge: adminChallengeSchema.optional(),
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

/** DESIGN §4.8: `POST /unbind-local {token, challenge, proof}`; proof = hex HMAC-SHA256(PBKDF2(password, salt), challenge). */
export const adminProofSchema = z.string().regex(/^[0-9a-f]{64}$/, 'proof must be 64 lower-hex characters');
export const adminUnbindRequestSchema = z.strictObject({ token: tokenStringSchema, challenge: adminChallengeSchema, proof: adminProofSchema });
export type AdminUnbindRequest = z.infer<typeof adminUnbindRequestSchema>;
/** A refusal carries the attempts left (ADMIN_PASSWORD) or the unlock time (DEVICE_LOCKED, ISO). */
export const adminUnbindResponseSchema = z.object({
  accepted: z.boolean(),
  code: failureCodeSchema.optional(),
  attemptsLeft: z.number().int().min(0).max(100).optional(),
  unlockAt: z.iso.datetime().optional(),
});
export type AdminUnbindResponse = z.infer<typeof adminUnbindResponseSchema>;

/** DESIGN §4.9: `POST /reset-code {code, newPassword}`: the reset code of the current request, and the new admin password. */
export const resetCodeSchema = z.string().regex(/^[A-Z2-7]{12}$/, 'a reset code is 12 base32 characters');
export const adminPasswordSchema = z.string().min(1).max(128);
export const applyResetCodeRequestSchema = z.strictObject({ code: resetCodeSchema, newPassword: adminPasswordSchema });
export const applyResetCodeResponseSchema = z.object({ accepted: z.boolean(), code: failureCodeSchema.optional() });
export type ApplyResetCodeResponse = z.infer<typeof applyResetCodeResponseSchema>;

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
