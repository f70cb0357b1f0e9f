import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { computeResetCode, randomUrlSafe } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** SQLite's own: migration 0005 (device_logs.method, DESIGN §4.8) and the reset codes of its store (§4.9). */
describe('authority: reset codes (SQLite store)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-11-22T09:00:00Z') });
  });
  afterAll(() => h.close());

  it('given a device and a challenge, then resetCodeFor is the first 12 base32 characters of HMAC(device key, reset|devId|challenge); unknown devices have none', () => {
    const dev = eligible(h, 'pnvr8ch')[10]!;
    const challenge = randomUrlSafe(32);
    const code = h.authority.services.resetCodes.resetCodeFor(dev.devId, challenge);
    expect(code).toBe(computeResetCode(dev.deviceKey, dev.devId, challenge));
    expect(code).toMatch(/^[A-Z2-7]{12}$/);
    expect(h.authority.services.resetCodes.resetCodeFor('pnvr8ch-9999', challenge)).toBeUndefined();
  });
});

describe('authority migration 0006: device log method', () => {
  it('given device log rows written at version 5, when migrated to 6, then each is method token, and only token or local is accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authority-migration-0006-'));
    try {
      const path = join(dir, 'authority.db');
      const v4 = openAuthorityDb(path, 5);
      v4.prepare("INSERT INTO device_logs (at, dev_id, serial, pid, region, result, reason, count, last_at) VALUES (1, 'dev-a', 'SN-1', 'p1', 'EU', 'UNBOUND', NULL, 1, 1)").run();
      expect(v4.prepare('SELECT * FROM device_logs').get()).not.toHaveProperty('method');
      v4.close();
      const v5 = openAuthorityDb(path, 6);
      try {
        expect(v5.prepare('SELECT dev_id, result, method FROM device_logs').all()).toEqual([{ dev_id: 'dev-a', result: 'UNBOUND', method: 'token' }]);
        expect(() => v5.prepare("INSERT INTO device_logs (at, dev_id, result, method) VALUES (2, 'dev-b', 'FAILED', 'sadp')").run()).toThrow(/CHECK/);
      } finally {
        v5.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
