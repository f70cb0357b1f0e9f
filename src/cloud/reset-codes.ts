import type { Database } from 'better-sqlite3';
import { computeResetCode } from '../protocol/index.js';
import type { SecretBox } from './secret-box.js';

/**
 * Reset codes (DESIGN §4.9): the first 12 characters, base32 (RFC 4648), of HMAC-SHA256(device key,
 * `reset|devId|challenge`). Computed when asked and never stored: the device key is the only secret.
 * The computation itself is the device's own (src/protocol/admin-password.ts), so both sides share one.
 */
export { computeResetCode, RESET_CODE_LENGTH } from '../protocol/index.js';

export interface ResetCodes {
  /** The reset code of a known device for a challenge; undefined for a device the authority does not know. */
  resetCodeFor(devId: string, challenge: string): string | undefined;
}

export function createResetCodes(db: Database, box: SecretBox): ResetCodes {
  const keyOf = db.prepare<[string], { key_enc: string }>('SELECT key_enc FROM devices WHERE dev_id = ?');
  return {
    resetCodeFor(devId, challenge) {
      const row = keyOf.get(devId);
      return row && computeResetCode(box.open(row.key_enc), devId, challenge);
    },
  };
}
