import type { Database } from 'better-sqlite3';

/**
 * How a device came to ask for its unbind (DESIGN §4.8): `token` — a token handed in by QR, LAN or serial —
 * or `local` — unbound on the LAN with its admin password. Rows before this migration were all `token`.
 */
export function up(db: Database): void {
  db.exec(`ALTER TABLE device_logs ADD COLUMN method TEXT NOT NULL DEFAULT 'token' CHECK (method IN ('token', 'local'));`);
}
