import { z } from 'zod';
import { tokenStringSchema } from './token.js';

/**
 * QR pairing payload (DESIGN §4.1): compact JSON `{"s":ssid,"p":password,"t":token}`, the three keys of
 * the common camera-pairing format. One set of limits for the encoder and the decoder: the encoder
 * refuses, with the decoder's own message, whatever the decoder would refuse.
 */
export const MAX_QR_PAYLOAD_BYTES = 512;
export const MAX_SSID_BYTES = 32;
export const MIN_WIFI_PASSPHRASE_LENGTH = 8;
export const MAX_WIFI_PASSPHRASE_LENGTH = 63;
/** A WPA pre-shared key given as its 32 bytes in hex instead of a passphrase. */
export const WPA_PSK_HEX_LENGTH = 64;
const utf8 = new TextEncoder();

// Control characters (C0, DEL, C1) and lone surrogates, which have no UTF-8 form at all.
const CONTROL_OR_LONE_SURROGATE = /[\p{Cc}\p{Cs}]/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const HEX = /^[0-9A-Fa-f]*$/;

/** What is wrong with an SSID, as a kind (for a form's message in its language) and the English message. */
export type SsidProblem = { kind: 'empty' | 'control' | 'too-long'; message: string };
export function ssidProblemOf(s: string): SsidProblem | null {
  return s.length === 0
    ? { kind: 'empty', message: 'SSID is empty' }
    : CONTROL_OR_LONE_SURROGATE.test(s)
      ? { kind: 'control', message: 'SSID has a control character or a lone surrogate (it must be text of printable characters)' }
      : utf8.encode(s).length > MAX_SSID_BYTES
        ? { kind: 'too-long', message: `SSID is longer than ${MAX_SSID_BYTES} bytes` }
        : null;
}

/** SSID: 1–32 bytes of UTF-8 (IEEE 802.11 counts bytes, not characters), no control characters. */
export const ssidSchema = z.string().superRefine((s, ctx) => {
  const problem = ssidProblemOf(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message });
});

export type WifiPasswordProblem = { kind: 'not-ascii' | 'too-short' | 'not-hex' | 'too-long'; message: string };
/** What is wrong with a Wi-Fi password, as a kind and the English message; null for an acceptable one. */
export function wifiPasswordProblemOf(p: string): WifiPasswordProblem | null {
  return p.length === 0
    ? null
    : !PRINTABLE_ASCII.test(p)
      ? { kind: 'not-ascii', message: 'Wi-Fi password may hold only printable ASCII characters (space to ~)' }
      : p.length < MIN_WIFI_PASSPHRASE_LENGTH
        ? { kind: 'too-short', message: `Wi-Fi password is shorter than ${MIN_WIFI_PASSPHRASE_LENGTH} characters (leave it empty for an open network)` }
        : p.length === WPA_PSK_HEX_LENGTH
          ? HEX.test(p)
            ? null
            : { kind: 'not-hex', message: `Wi-Fi password of ${WPA_PSK_HEX_LENGTH} characters is a WPA key and must be hex digits only` }
          : p.length > MAX_WIFI_PASSPHRASE_LENGTH
            ? { kind: 'too-long', message: `Wi-Fi password is longer than ${MAX_WIFI_PASSPHRASE_LENGTH} characters (or ${WPA_PSK_HEX_LENGTH} hex digits)` }
            : null;
}

/**
 * Wi-Fi password: empty (open network), a WPA passphrase of 8–63 printable ASCII characters
 * (IEEE 802.11i), or a pre-shared key of 64 hex digits.
 */
export const wifiPasswordSchema = z.string().superRefine((p, ctx) => {
  const problem = wifiPasswordProblemOf(p);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message });
});

export const qrPayloadSchema = z.strictObject({ s: ssidSchema, p: wifiPasswordSchema, t: tokenStringSchema });
export type QrPayload = z.infer<typeof qrPayloadSchema>;

export interface WifiCredentials {
  ssid: string;
  password: string;
}
export const wifiCredentialsSchema = z.object({ ssid: ssidSchema, password: wifiPasswordSchema });

export type QrPayloadDecode = { ok: true; value: QrPayload } | { ok: false; error: string };

/** The encoder's refusal; its message is the one the decoder gives for the same payload. */
export class QrPayloadError extends Error {
  override name = 'QrPayloadError';
}

function checkPayloadValue(value: unknown): QrPayloadDecode {
  const r = qrPayloadSchema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const i = r.error.issues[0];
  return { ok: false, error: `payload ${i?.path.join('.') || 'object'}: ${i?.message ?? 'invalid'}` };
}

/**
 * Encodes a payload, or throws QrPayloadError with the message decodeQrPayload gives for the same
 * payload: the encoder runs the decoder on the bytes it would print, so it cannot print a code the
 * decoder refuses, and its refusal (size first, then the fields) reads the same.
 */
export function encodeQrPayload(p: QrPayload): string {
  let text: string | undefined;
  if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
    // Key order fixed, no whitespace: the bytes decide the QR version. Unknown keys stay, for the decoder to name.
    const { s, p: password, t, ...others } = p as Record<string, unknown>;
    try {
      text = JSON.stringify({ s, p: password, t, ...others });
    } catch {
      text = undefined; // not JSON at all (a cycle, a BigInt): the value check below names the field
    }
  }
  if (text !== undefined) {
    const back = decodeQrPayload(utf8.encode(text));
    if (!back.ok) throw new QrPayloadError(back.error);
  }
  // The value itself, too: JSON.stringify turns some non-strings (a Date, a toJSON) into strings.
  const checked = checkPayloadValue(p);
  if (!checked.ok) throw new QrPayloadError(checked.error);
  return text!;
}

/**
 * The first key that appears twice in one object of a JSON text (already known to parse), compared
 * after unescaping: JSON.parse keeps the last silently, and two parsers may not agree which wins.
 */
function duplicateKey(text: string): string | null {
  const objects: Array<{ keys: Set<string>; expectKey: boolean } | null> = []; // null: an array
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = objects[objects.length - 1];
      if (top?.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = end;
    } else if (c === '{') objects.push({ keys: new Set(), expectKey: true });
    else if (c === '[') objects.push(null);
    else if (c === '}' || c === ']') objects.pop();
    else if (c === ',') {
      const top = objects[objects.length - 1];
      if (top) top.expectKey = true;
    }
  }
  return null;
}

function tooLong(bytes: number): QrPayloadDecode {
  return { ok: false, error: `payload is ${bytes} bytes, more than ${MAX_QR_PAYLOAD_BYTES}` };
}

/** Decodes raw QR bytes; every malformed input gets a precise reason, nothing throws. */
export function decodeQrPayload(raw: Uint8Array | string): QrPayloadDecode {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    if (raw.length > MAX_QR_PAYLOAD_BYTES) return tooLong(raw.length);
    try {
      // ignoreBOM keeps a byte-order mark in the text (then it is not JSON): the encoder never writes one.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      return { ok: false, error: 'payload is not valid UTF-8' };
    }
  }
  const size = typeof raw === 'string' ? utf8.encode(text).length : raw.length;
  if (size > MAX_QR_PAYLOAD_BYTES) return tooLong(size);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  const twice = duplicateKey(text);
  if (twice !== null) return { ok: false, error: `payload object: the key ${JSON.stringify(twice)} appears twice` };
  return checkPayloadValue(json);
}
