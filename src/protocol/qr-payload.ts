import { z } from 'zod';
import { tokenStringSchema } from './token.js';

/**
 * QR pairing payload (DESIGN §4.1): compact JSON `{"s":ssid,"p":password,"t":token}`, the three keys of
 * the common camera-pairing format. SSID 1–32 bytes, WPA password empty (open network) or 8–63 chars.
 */
export const MAX_QR_PAYLOAD_BYTES = 512;
const utf8 = new TextEncoder();

const ssidSchema = z
  .string()
  .min(1, 'SSID is empty')
  .refine((s) => utf8.encode(s).length <= 32, 'SSID is longer than 32 bytes');
const wifiPasswordSchema = z
  .string()
  .refine((p) => p.length === 0 || (p.length >= 8 && p.length <= 63), 'Wi-Fi password must be empty (open) or 8–63 characters');

export const qrPayloadSchema = z.strictObject({ s: ssidSchema, p: wifiPasswordSchema, t: tokenStringSchema });
export type QrPayload = z.infer<typeof qrPayloadSchema>;

export interface WifiCredentials {
  ssid: string;
  password: string;
}
export const wifiCredentialsSchema = z.object({ ssid: ssidSchema, password: wifiPasswordSchema });

export function encodeQrPayload(p: QrPayload): string {
  const v = qrPayloadSchema.parse(p);
  // Key order fixed, no whitespace: the bytes decide the QR version.
  return JSON.stringify({ s: v.s, p: v.p, t: v.t });
}

export type QrPayloadDecode = { ok: true; value: QrPayload } | { ok: false; error: string };

/** Decodes raw QR bytes; every malformed input gets a precise reason, nothing throws. */
export function decodeQrPayload(raw: Uint8Array | string): QrPayloadDecode {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    if (raw.length > MAX_QR_PAYLOAD_BYTES) return { ok: false, error: `payload is ${raw.length} bytes, more than ${MAX_QR_PAYLOAD_BYTES}` };
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      return { ok: false, error: 'payload is not valid UTF-8' };
    }
  }
  if (utf8.encode(text).length > MAX_QR_PAYLOAD_BYTES) return { ok: false, error: `payload is longer than ${MAX_QR_PAYLOAD_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  const r = qrPayloadSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, error: `payload ${i?.path.join('.') || 'object'}: ${i?.message ?? 'invalid'}` };
  }
  return { ok: true, value: r.data };
}
