import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Pure signature helpers shared by stations, devices and the authority (DESIGN §4.3, §4.4). */

export const SIGN_METHOD = 'HMAC-SHA256';
/** How far a request's timestamp may be from the verifier's clock. */
export const CLOCK_SKEW_MS = 300_000;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Device → authority: lower-hex HMAC-SHA256 keyed with the device key over `devId|token|ts|nonce`; a local
 * unbind (§4.8) signs `|local` after them, so the method it records cannot be added or stripped on the way.
 */
export function signDeviceRequest(deviceKey: string, devId: string, token: string, ts: number, nonce: string, method?: 'local'): string {
  return createHmac('sha256', deviceKey).update(`${devId}|${token}|${ts}|${nonce}${method ? `|${method}` : ''}`).digest('hex');
}

/** Station → authority stringToSign: METHOD \n sha256(body) \n "" \n path?query. */
export function stationStringToSign(method: string, pathWithQuery: string, body: string | Uint8Array = ''): string {
  return `${method.toUpperCase()}\n${sha256Hex(body)}\n\n${pathWithQuery}`;
}

/** Station → authority: upper-hex HMAC-SHA256(secret, client_id + t + nonce + stringToSign). */
export function signStationRequest(secret: string, clientId: string, t: number | string, nonce: string, stringToSign: string): string {
  return createHmac('sha256', secret).update(`${clientId}${t}${nonce}${stringToSign}`).digest('hex').toUpperCase();
}

export interface StationSignedHeaders {
  client_id: string;
  t: string;
  nonce: string;
  sign_method: typeof SIGN_METHOD;
  sign: string;
  [name: string]: string;
}

/** Headers for one signed station request. `nonce` must be fresh per request. */
export function stationRequestHeaders(opts: {
  clientId: string;
  secret: string;
  method: string;
  pathWithQuery: string;
  body?: string;
  nonce: string;
  now?: number;
}): StationSignedHeaders {
  const t = String(opts.now ?? Date.now());
  const sts = stationStringToSign(opts.method, opts.pathWithQuery, opts.body ?? '');
  return {
    client_id: opts.clientId,
    t,
    nonce: opts.nonce,
    sign_method: SIGN_METHOD,
    sign: signStationRequest(opts.secret, opts.clientId, t, opts.nonce, sts),
  };
}

/** Constant-time comparison of two hex signatures (case-sensitive, as the formats are fixed). */
export function signaturesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
