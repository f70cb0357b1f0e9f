import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authority-migration-0002-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('authority migration 0002: folded failures', () => {
  it('given device log rows written at version 1, when migrated to 2, then each is one request with its last time = its time', () => {
    const path = join(dir, 'authority.db');
    const v1 = openAuthorityDb(path, 1);
    const insert = v1.prepare(
      "INSERT INTO device_logs (at, dev_id, serial, pid, region, result, reason) VALUES (?, ?, 'SN-1', 'p1', 'EU', ?, ?)",
    );
    insert.run(1_700_000_000_000, 'dev-a', 'FAILED', 'DEVICE_AUTH');
    insert.run(1_700_000_000_500, 'dev-a', 'UNBOUND', null);
    expect(v1.prepare('SELECT * FROM device_logs ORDER BY id').all()[0]).not.toHaveProperty('count');
    v1.close();

    const v2 = openAuthorityDb(path, 2);
    try {
      expect(v2.pragma('user_version', { simple: true })).toBe(2);
      expect(v2.prepare('SELECT dev_id, at, result, reason, count, last_at FROM device_logs ORDER BY id').all()).toEqual([
        { dev_id: 'dev-a', at: 1_700_000_000_000, result: 'FAILED', reason: 'DEVICE_AUTH', count: 1, last_at: 1_700_000_000_000 },
        { dev_id: 'dev-a', at: 1_700_000_000_500, result: 'UNBOUND', reason: null, count: 1, last_at: 1_700_000_000_500 },
      ]);
      // A row counts at least one request.
      expect(() => v2.prepare("INSERT INTO device_logs (at, dev_id, result, count, last_at) VALUES (1, 'dev-b', 'FAILED', 0, 1)").run()).toThrow(/CHECK/);
    } finally {
      v2.close();
    }
  });
});
