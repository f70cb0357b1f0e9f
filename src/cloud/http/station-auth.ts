import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CLOCK_SKEW_MS, SIGN_METHOD, signaturesEqual, signStationRequest, stationStringToSign } from '../../protocol/index.js';
import type { AccountRecord } from '../accounts.js';
import type { AuthorityStore } from '../store.js';
import { AuthorityError } from '../errors.js';
import { describeFirstIssue } from './validate.js';

/** Verifies the signed-request scheme of DESIGN §4.4 and resolves the calling account. */
const signedHeadersSchema = z.object({
  client_id: z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'must be 4–64 URL-safe characters'),
  t: z.string().regex(/^\d{10,16}$/, 'must be Unix time in milliseconds'),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8–64 URL-safe characters'),
  sign_method: z.literal(SIGN_METHOD),
  sign: z.string().regex(/^[0-9A-F]{64}$/, 'must be 64 upper-hex characters'),
});

const SIGNED_HEADERS = Object.keys(signedHeadersSchema.shape);

/** The signing headers, or a 401 naming what is missing or malformed: every signature refusal is a 401 (DESIGN §4.4). */
function readSignedHeaders(headers: FastifyRequest['headers']): z.output<typeof signedHeadersSchema> {
  const missing = SIGNED_HEADERS.filter((name) => headers[name] === undefined);
  if (missing.length === SIGNED_HEADERS.length) {
    throw new AuthorityError(401, 'SIGN_MISSING', `the request is not signed: send the headers ${SIGNED_HEADERS.join(', ')}`);
  }
  if (missing.length > 0) throw new AuthorityError(401, 'SIGN_MISSING', `signing header${missing.length > 1 ? 's' : ''} missing: ${missing.join(', ')}`);
  const h = signedHeadersSchema.safeParse(headers);
  if (!h.success) throw new AuthorityError(401, 'SIGN_MALFORMED', describeFirstIssue(h.error, 'header'));
  return h.data;
}

export { NONCE_MEMORY_MS } from '../nonce-memory.js';

export interface StationAuth {
  verify(req: FastifyRequest, rawBody: Buffer): Promise<AccountRecord>;
  purgeNonces(now: number): Promise<number>;
}

export function createStationAuth(store: Pick<AuthorityStore, 'accounts' | 'nonces'>, clock: () => number): StationAuth {
  const { accounts, nonces } = store;
  return {
    async verify(req, rawBody) {
      const h = readSignedHeaders(req.headers);
      const account = await accounts.byClientId(h.client_id);
      if (!account) throw new AuthorityError(401, 'CLIENT_UNKNOWN', 'no account has this client_id');
      const expected = signStationRequest(account.secret, h.client_id, h.t, h.nonce, stationStringToSign(req.method, req.url, rawBody));
      if (!signaturesEqual(expected, h.sign)) throw new AuthorityError(401, 'SIGN_INVALID', 'the request signature does not match');
      const now = clock();
      if (Math.abs(now - Number(h.t)) > CLOCK_SKEW_MS) {
        throw new AuthorityError(401, 'CLOCK_SKEW', 'header t is more than 5 minutes away from the authority clock');
      }
      // Checked after the signature, so nobody but the account can burn its nonces.
      if (!(await nonces.remember(h.client_id, h.nonce, now))) throw new AuthorityError(401, 'NONCE_REUSED', 'this nonce was used before');
      return account;
    },
    purgeNonces: (now) => nonces.purge(now),
  };
}
