import { createHmac } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { SecretBox } from './secret-box.js';

/**
 * Reset codes (DESIGN §4.9): the first 12 characters, base32 (RFC 4648), of HMAC-SHA256(device key,
 * `reset|devId|challenge`). Computed when asked and never stored: the device key is the only secret.
 */
export const RESET_CODE_LENGTH = 12;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
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
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The code itself, from the device key (its UTF-8 string, as for §4.3 signatures). */
export function computeResetCode(deviceKey: string, devId: string, challenge: string): string {
  return base32(createHmac('sha256', Buffer.from(deviceKey, 'utf8')).update(`reset|${devId}|${challenge}`).digest()).slice(0, RESET_CODE_LENGTH);
}

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
