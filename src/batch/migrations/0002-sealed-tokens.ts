import type { Database } from 'better-sqlite3';
import { SEALED_PREFIX, type SecretBox } from '../../sqlite/index.js';

/**
 * Secrets at rest (issue 9): a QR batch's live tokens were kept in clear; from here on each is sealed
 * under the station key (AES-256-GCM), and those already stored are sealed now. A batch also keeps a
 * slow, salted verifier of its Wi-Fi password (never the password), so that after a restart a mistyped
 * password is refused instead of drawing codes no device can use. Batches from before have none.
 */
export function up(db: Database, box: SecretBox): void {
  db.exec('ALTER TABLE batches ADD COLUMN wifi_verifier TEXT');
  const clear = db.prepare<[], { batch_id: string; idx: number; token: string }>(`SELECT batch_id, idx, token FROM batch_codes WHERE substr(token, 1, ${SEALED_PREFIX.length}) <> '${SEALED_PREFIX}'`).all();
  const seal = db.prepare('UPDATE batch_codes SET token = ? WHERE batch_id = ? AND idx = ?');
  for (const c of clear) seal.run(box.seal(c.token), c.batch_id, c.idx);
}
