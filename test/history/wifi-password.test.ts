import { existsSync, readFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryInputError, type NewAttempt } from '../../src/history/index.js';
import { attempt, OWNER, openTempHistory, readAll, T0, type TempHistory } from './history-fixtures.js';

/**
 * A QR batch puts the bench's Wi-Fi password in every code it shows. The history records every
 * device of that batch, and must not keep the password anywhere: not in a column, not in a value,
 * not in the WAL, not in the export. Nor the token's secret part: only the token's public id.
 */
const WIFI = { ssid: 'ReturnsBench-2G', password: 'Tr0ub4dor&3-horse!' };
const TOKEN = { region: 'EU', id: 'Qk7mZp2W', secret: 'x9JfR4' };
const FULL_TOKEN = `${TOKEN.region}${TOKEN.id}${TOKEN.secret}`;

let h: TempHistory;
beforeEach(() => {
  h = openTempHistory();
});
afterEach(() => {
  h.cleanup();
});

/** Every byte SQLite keeps for this store: the database, its WAL and its shared-memory index. */
function storeBytes(): Buffer {
  return Buffer.concat([h.path, `${h.path}-wal`, `${h.path}-shm`].filter(existsSync).map((p) => readFileSync(p)));
}
const contains = (haystack: Buffer, needle: string): boolean =>
  haystack.includes(Buffer.from(needle, 'utf8')) || haystack.includes(Buffer.from(needle, 'utf16le'));

describe('the Wi-Fi password is never stored', () => {
  it('given a QR batch whose Wi-Fi password is known, when its devices are recorded, then no byte of the store holds the password or the token secret', async () => {
    // The batch as the batch engine holds it, password included.
    const batch = { id: 'b-20250310-wifi01', method: 'qr' as const, pid: 'cam-c6n', operator: 'Ana Ruiz', accountId: 'acc-owner', wifi: WIFI, token: FULL_TOKEN };
    const results: NewAttempt[] = Array.from({ length: 300 }, (_, i) =>
      attempt({
        at: T0 + i * 1000,
        method: batch.method,
        batchId: batch.id,
        pid: batch.pid,
        operator: batch.operator,
        accountId: batch.accountId,
        tokenId: TOKEN.id,
        seq: i + 1,
        ...(i % 10 === 9 ? { result: 'FAILED' as const, code: 'WIFI_AUTH' as const } : {}),
      }),
    );
    expect(h.store.recordMany(results)).toBe(300);

    // Carelessly handing the whole batch (or its token) to the history is refused, not half-stored.
    expect(() => h.store.record({ ...attempt(), ...batch } as unknown as NewAttempt)).toThrow(HistoryInputError);
    expect(() => h.store.record({ ...attempt(), wifiPassword: WIFI.password } as unknown as NewAttempt)).toThrow(/Unrecognized key/);
    expect(() => h.store.record(attempt({ tokenId: FULL_TOKEN }))).toThrow(/not the token/);

    const exported = await readAll(h.store.exportCsv(OWNER, {}));
    expect(exported.toString('utf8')).toContain(batch.id);

    // While open (rows in the WAL) and after close (checkpointed into the database file).
    for (const phase of ['open', 'closed'] as const) {
      if (phase === 'closed') h.store.close();
      const bytes = storeBytes();
      expect(bytes.length).toBeGreaterThan(0);
      expect(contains(bytes, batch.id)).toBe(true); // the scan does see the batch's values ...
      expect(contains(bytes, WIFI.password)).toBe(false); // ... and not its password
      expect(contains(bytes, FULL_TOKEN)).toBe(false);
      expect(contains(bytes, `${TOKEN.id}${TOKEN.secret}`)).toBe(false);
    }
    expect(contains(exported, WIFI.password)).toBe(false);
    expect(contains(exported, FULL_TOKEN)).toBe(false);
  });

  it('has no column that is meant for a password, an SSID or a secret', () => {
    const db = new BetterSqlite3(h.path, { readonly: true });
    try {
      const columns = db.prepare("SELECT m.name AS tbl, p.name AS col FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'").all() as Array<{
        tbl: string;
        col: string;
      }>;
      expect(columns.length).toBeGreaterThan(10);
      expect(columns.filter((c) => /pass|pwd|psk|wifi|ssid|secret|key|credential/i.test(c.col))).toEqual([]);
    } finally {
      db.close();
    }
  });
});
