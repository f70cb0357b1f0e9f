import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authority-migration-0004-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('authority migration 0004: cases and the verified-installer flag', () => {
  it('given accounts and a device written at version 3, when migrated to 4, then no account is a verified installer and cases can be filed', () => {
    const path = join(dir, 'authority.db');
    const v3 = openAuthorityDb(path, 3);
    v3.exec(`
      INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES ('acc-a', 'A', 'EU', 'cli-a', 'x', 1), ('acc-b', 'B', 'EU', 'cli-b', 'x', 1);
      INSERT INTO products (pid, name, category, owner_id, unbind_supported) VALUES ('p1', 'P', 'ipc', 'acc-a', 1);
      INSERT INTO devices (dev_id, serial, pid, region, firmware, key_enc) VALUES ('dev-1', 'SN-0001', 'p1', 'EU', '1.0.0', 'k');
    `);
    expect(v3.prepare('SELECT * FROM accounts').all()[0]).not.toHaveProperty('verified_installer');
    v3.close();

    const v4 = openAuthorityDb(path, 4);
    try {
      expect(v4.pragma('user_version', { simple: true })).toBe(4);
      expect(v4.prepare('SELECT id, verified_installer FROM accounts ORDER BY id').all()).toEqual([
        { id: 'acc-a', verified_installer: 0 },
        { id: 'acc-b', verified_installer: 0 },
      ]);
      expect(() => v4.prepare("UPDATE accounts SET verified_installer = 2 WHERE id = 'acc-b'").run()).toThrow(/CHECK/);
      const file = v4.prepare(
        `INSERT INTO cases (id, kind, filer_id, dev_id, pid, photo, photo_type, reset_challenge, state, filed_at, due_at, decided_at, reject_code)
         VALUES (?, ?, 'acc-b', 'dev-1', 'p1', x'89504e47', 'image/png', ?, ?, 1, 2, ?, ?)`,
      );
      file.run('cs-0000000001', 'unbind', null, 'submitted', null, null);
      // The shape is held by the store too: a reset case has its challenge, a decided case its time, a rejected one its code.
      expect(() => file.run('cs-0000000002', 'password-reset', null, 'submitted', null, null)).toThrow(/CHECK/);
      expect(() => file.run('cs-0000000003', 'unbind', null, 'approved', null, null)).toThrow(/CHECK/);
      expect(() => file.run('cs-0000000004', 'unbind', null, 'rejected', 5, null)).toThrow(/CHECK/);
      expect(() => file.run('cs-0000000005', 'unbind', null, 'rejected', 5, 'BECAUSE')).toThrow(/CHECK/);
      expect(() => v4.prepare("INSERT INTO cases (id, kind, filer_id, dev_id, pid, photo, photo_type, state, filed_at, due_at) VALUES ('cs-0000000006', 'unbind', 'acc-b', 'dev-1', 'p1', x'00', 'application/pdf', 'submitted', 1, 2)").run()).toThrow(/CHECK/);
      expect(() => v4.prepare("INSERT INTO cases (id, kind, filer_id, dev_id, pid, photo, photo_type, state, filed_at, due_at) VALUES ('cs-0000000007', 'unbind', 'acc-b', 'dev-nosuch', 'p1', x'00', 'image/png', 'submitted', 1, 2)").run()).toThrow(/FOREIGN KEY/);
      expect(v4.prepare('SELECT id, state FROM cases').all()).toEqual([{ id: 'cs-0000000001', state: 'submitted' }]);
    } finally {
      v4.close();
    }
  });
});
