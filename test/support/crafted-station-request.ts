import { randomUrlSafe, stationRequestHeaders } from '../../src/protocol/index.js';

/**
 * The one place tests hand-craft a station request (DESIGN §4.4) that the real signed client would
 * never send: a replayed nonce, a `t` off the clock, headers changed after signing, a body or path
 * other than the one signed, a body that is not JSON. Every well-formed call goes through
 * `sendSignedRequest` of src/batch/station-authority-client.ts instead.
 */
export interface StationSecret {
  clientId: string;
  secret: string;
}

export interface CraftedRequest {
  /** The text sent as the body (signed as is unless `signedBody` says otherwise). */
  body?: string;
  nonce?: string;
  /** The `t` header, Unix ms; default: `now`. */
  t?: number;
  now?: () => number;
  /** What the signature covers, when it must differ from what is sent. */
  signedBody?: string;
  signedPath?: string;
  /** Changes the signed headers before sending (forged sign, unknown client_id, MD5). */
  tamper?: (headers: Record<string, string>) => void;
}

export function sendCraftedStationRequest(url: string, account: StationSecret, method: string, pathWithQuery: string, o: CraftedRequest = {}): Promise<Response> {
  const body = o.body ?? '';
  const headers: Record<string, string> = {
    ...stationRequestHeaders({
      clientId: account.clientId,
      secret: account.secret,
      method,
      pathWithQuery: o.signedPath ?? pathWithQuery,
      body: o.signedBody ?? body,
      nonce: o.nonce ?? randomUrlSafe(24),
      now: o.t ?? (o.now ?? Date.now)(),
    }),
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
  o.tamper?.(headers);
  return fetch(url + pathWithQuery, { method, headers, ...(body ? { body } : {}) });
}
