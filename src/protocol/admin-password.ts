import { createHmac, pbkdf2, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { adminChallengeSchema, devIdSchema, serialSchema } from './device-messages.js';

/**
 * DESIGN §4.8 and §4.9, the parts both sides compute: the admin-password proof of a local unbind, and the
 * reset request and reset code of a forgotten password. Pure computation (node:crypto), no I/O.
 */

export const ADMIN_KDF_ITERATIONS = 10_000;
export const ADMIN_KEY_BYTES = 32;
/** Wrong proofs before the device locks its local unbind. */
export const ADMIN_MAX_ATTEMPTS = 5;
export const ADMIN_LOCKOUT_MS = 30 * 60_000;
/** A reset request is answered within 48 hours, or never. */
export const RESET_REQUEST_VALIDITY_MS = 48 * 3_600_000;
export const RESET_CODE_LENGTH = 12;

/** PBKDF2-SHA256(password, adminSalt, 10 000, 32 B): the key a proof is made with (and what a device keeps). */
export function deriveAdminKeySync(password: string | Buffer, adminSalt: string): Buffer {
  return pbkdf2Sync(password, Buffer.from(adminSalt, 'base64url'), ADMIN_KDF_ITERATIONS, ADMIN_KEY_BYTES, 'sha256');
}

/** The same, off the event loop: a station deriving keys for a batch keeps answering meanwhile. */
export function deriveAdminKey(password: string | Buffer, adminSalt: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, Buffer.from(adminSalt, 'base64url'), ADMIN_KDF_ITERATIONS, ADMIN_KEY_BYTES, 'sha256', (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** proof = lower-hex HMAC-SHA256(key = the derived admin key, challenge). */
export function adminProof(adminKey: Buffer, challenge: string): string {
  return createHmac('sha256', adminKey).update(challenge).digest('hex');
}

/** Constant-time comparison of a proof with the expected one. */
export function proofsEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** RFC 4648 base32, no padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The reset code for a reset request: the first 12 base32 characters of HMAC-SHA256(device key, `reset|devId|challenge`). */
export function computeResetCode(deviceKey: string, devId: string, challenge: string): string {
  return base32(createHmac('sha256', deviceKey).update(`reset|${devId}|${challenge}`).digest()).slice(0, RESET_CODE_LENGTH);
}

/** A reset request as the device issues it (DESIGN §4.9). `issuedAt` is ISO 8601 (UTC). */
export const resetRequestSchema = z.object({
  devId: devIdSchema,
  serial: serialSchema,
  challenge: adminChallengeSchema,
  issuedAt: z.iso.datetime(),
});
export type ResetRequest = z.infer<typeof resetRequestSchema>;

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The `<ResetRequest>` element on one line, as the serial line carries it (`+RESETREQ:`). */
export function resetRequestXmlLine(r: ResetRequest): string {
  return (
    '<ResetRequest>' +
    `<DeviceID>${escapeXml(r.devId)}</DeviceID><DeviceSN>${escapeXml(r.serial)}</DeviceSN>` +
    `<Challenge>${escapeXml(r.challenge)}</Challenge><IssuedAt>${escapeXml(r.issuedAt)}</IssuedAt></ResetRequest>`
  );
}

/** `<ResetRequest>` XML, to save as a file. DeviceID is carried too: the QR text names the device by it. */
export function resetRequestXml(r: ResetRequest): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${resetRequestXmlLine(r)}\n`;
}

/** Reads a saved `<ResetRequest>` (at most 4 KiB; every field checked); null when it is not one. */
export function parseResetRequestXml(xml: string): ResetRequest | null {
  if (xml.length > 4096) return null;
  const field = (name: string): string | undefined => new RegExp(`<${name}>([^<]{1,128})</${name}>`).exec(xml)?.[1];
  if (!/<ResetRequest>[\s\S]*<\/ResetRequest>/.test(xml)) return null;
  const parsed = resetRequestSchema.safeParse({ devId: field('DeviceID'), serial: field('DeviceSN'), challenge: field('Challenge'), issuedAt: field('IssuedAt') });
  return parsed.success ? parsed.data : null;
}

/**
 * The QR text of a reset request: `RST1:<devId>:<challenge>:<issuedAt, Unix ms>` — the form the authority's
 * case form reads (parseResetQrText in case-api.ts): the text is split on colons, so no ISO time here.
 */
export function resetRequestQrText(r: Pick<ResetRequest, 'devId' | 'challenge' | 'issuedAt'>): string {
  return `RST1:${r.devId}:${r.challenge}:${Date.parse(r.issuedAt)}`;
}

/** Reads `RST1:<devId>:<challenge>:<issuedAt ms>`; null when it is not one. */
export function parseResetRequestQrText(text: string): Omit<ResetRequest, 'serial'> | null {
  const m = /^RST1:([A-Za-z0-9_-]{4,64}):([A-Za-z0-9_-]{16,86}):(\d{10,15})$/.exec(text.trim());
  if (!m) return null;
  const parsed = resetRequestSchema.omit({ serial: true }).safeParse({ devId: m[1], challenge: m[2], issuedAt: new Date(Number(m[3])).toISOString() });
  return parsed.success ? parsed.data : null;
}
