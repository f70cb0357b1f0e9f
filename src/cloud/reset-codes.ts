import type { Database } from 'better-sqlite3';
import { adminChallengeSchema, computeResetCode, devIdSchema } from '../protocol/index.js';
import { AuthorityError } from './errors.js';
import type { SecretBox } from './secret-box.js';

/**
 * The reset code of an approved password-reset case (DESIGN §4.9): the first 12 base32 characters of
 * HMAC-SHA256(device key, `reset|devId|challenge`). The device key is opened from under the SecretBox for
 * the computation only; the code is answered to the case's filer and never stored or logged here.
 */
export type ResetCodeFor = (devId: string, challenge: string) => string;

export function createResetCodeFor(db: Database, box: SecretBox): ResetCodeFor {
  const keyOf = db.prepare<[string], { key_enc: string }>('SELECT key_enc FROM devices WHERE dev_id = ?');
  return (devId, challenge) => {
    if (!devIdSchema.safeParse(devId).success) throw new AuthorityError(400, 'BAD_REQUEST', 'devId is malformed');
    if (!adminChallengeSchema.safeParse(challenge).success) throw new AuthorityError(400, 'BAD_REQUEST', 'challenge is malformed');
    const row = keyOf.get(devId);
    if (!row) throw new AuthorityError(404, 'DEVICE_UNKNOWN', `no device ${devId}`);
    return computeResetCode(box.open(row.key_enc), devId, challenge);
  };
}
