import { z } from 'zod';

/**
 * Unbind token (DESIGN §4.2): `<region 2><id 8><secret 6>`, URL-safe characters.
 * 16 characters keep the QR payload for a 12-char SSID and password at 62 bytes, QR version 4 (ECC M).
 * The secret alone is 36 bits, but a valid token needs id and secret (84 bits), a device key to sign
 * the request, and it expires in minutes; the authority stores only a hash of the secret.
 */
export const TOKEN_REGION_LENGTH = 2;
export const TOKEN_ID_LENGTH = 8;
export const TOKEN_SECRET_LENGTH = 6;
export const TOKEN_MAX_SECRET_LENGTH = 64;
export const MAX_TOKEN_CAPACITY = 30;

const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export const regionSchema = z.string().regex(/^[A-Z]{2}$/, 'region must be two capital letters (AY, EU, ...)');
export type Region = z.infer<typeof regionSchema>;

export const tokenStringSchema = z
  .string()
  .min(TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH + 4, 'token too short')
  .max(TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH + TOKEN_MAX_SECRET_LENGTH, 'token too long')
  .regex(/^[A-Z]{2}[A-Za-z0-9_-]+$/, 'token must be a region followed by URL-safe characters');

export interface ParsedToken {
  region: Region;
  id: string;
  secret: string;
}

/** Cryptographically random URL-safe string (Web Crypto: works in Node and in the browser). */
export function randomUrlSafe(length: number): string {
  const bytes = new Uint8Array(length);
  // Web Crypto fills at most 65,536 bytes per call.
  for (let i = 0; i < length; i += 65_536) globalThis.crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65_536)));
  let out = '';
  for (const b of bytes) out += URL_SAFE[b & 63]; // 64 symbols: masking keeps the distribution uniform
  return out;
}

export function generateToken(region: Region): { token: string } & ParsedToken {
  regionSchema.parse(region);
  const id = randomUrlSafe(TOKEN_ID_LENGTH);
  const secret = randomUrlSafe(TOKEN_SECRET_LENGTH);
  return { token: `${region}${id}${secret}`, region, id, secret };
}

export type TokenParse = { ok: true; value: ParsedToken } | { ok: false; error: string };

export function parseToken(input: unknown): TokenParse {
  const r = tokenStringSchema.safeParse(input);
  if (!r.success) return { ok: false, error: r.error.issues[0]?.message ?? 'malformed token' };
  const t = r.data;
  return {
    ok: true,
    value: {
      region: t.slice(0, TOKEN_REGION_LENGTH),
      id: t.slice(TOKEN_REGION_LENGTH, TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH),
      secret: t.slice(TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH),
    },
  };
}

/** The token with its secret masked, safe for logs and screens. */
export function redactToken(token: string): string {
  return token.length <= TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH
    ? token
    : `${token.slice(0, TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH)}${'*'.repeat(4)}`;
}
