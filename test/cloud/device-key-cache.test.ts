import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomUrlSafe, signDeviceRequest, type DeviceUnbindRequest } from '../../src/protocol/index.js';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { createSecretBox, loadOrCreateMasterKey, type SecretBox } from '../../src/cloud/secret-box.js';
import { createAuthorityServices } from '../../src/cloud/services.js';
import { createKeyCache, createUnbindService, DEVICE_KEY_CACHE_SIZE } from '../../src/cloud/unbind.js';

const dir = mkdtempSync(join(tmpdir(), 'key-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the decrypted device-key cache is bounded (least recently used goes first)', () => {
  it('given capacity 3, a fourth key evicts the one used longest ago, and a hit makes a key recent again', () => {
    const cache = createKeyCache(3);
    const opened: string[] = [];
    const get = (id: string): string => cache.get(id, () => (opened.push(id), `key-${id}`));
    expect([get('a'), get('b'), get('c')]).toEqual(['key-a', 'key-b', 'key-c']);
    expect(get('a')).toBe('key-a'); // a hit: no decrypt, and a is now the most recent
    get('d'); // b is the least recently used: it goes
    expect(cache.size).toBe(3);
    expect(opened).toEqual(['a', 'b', 'c', 'd']);
    get('a');
    get('c');
    get('d');
    expect(opened).toEqual(['a', 'b', 'c', 'd']);
    get('b'); // evicted: decrypted again
    expect(opened).toEqual(['a', 'b', 'c', 'd', 'b']);
    expect(cache.size).toBe(3);
    expect(() => createKeyCache(0)).toThrow(/positive integer/);
    expect(DEVICE_KEY_CACHE_SIZE).toBeGreaterThan(0);
  });

  it('given more devices than places (real SQLite store), every one is still judged by its own key, and no more keys than places are kept', () => {
    const dbPath = join(dir, 'authority.db');
    const db = openAuthorityDb(dbPath);
    try {
      const realBox = createSecretBox(loadOrCreateMasterKey(`${dbPath}.key`));
      let opens = 0;
      const box: SecretBox = { ...realBox, open: (sealed: string) => (opens++, realBox.open(sealed)) };
      const s = createAuthorityServices({ db, box: realBox, timeZone: 'UTC' });
      const now = Date.now();
      const keys = Array.from({ length: 6 }, () => randomUrlSafe(32));
      const ids = keys.map((_, i) => `kc-dev-${i}`);
      s.accounts.create({ id: 'acc-kc', name: 'Key Cache Owner', region: 'EU' }, now);
      s.registry.addConsumer('c-kc', 'Consumer', 'EU');
      s.registry.addProduct({ pid: 'pkc', name: 'Cam', category: 'ipc', ownerId: 'acc-kc', unbindSupported: true, minFirmware: '1.0.0' });
      ids.forEach((devId, i) => {
        s.registry.addDevice({ devId, serial: `KC-${i}`, pid: 'pkc', region: 'EU', firmware: '2.0.0', deviceKey: keys[i]! });
        s.registry.bind(devId, 'c-kc', now);
      });
      const token = s.tokens.issue('acc-kc', 'EU', { capacity: 30, channel: 'wired', ttlSeconds: 600 }, now).token;
      const unbind = createUnbindService({ db, box, quota: s.quota, grants: s.grants, logs: s.logs, events: s.events, clock: Date.now, keyCacheSize: 2 });
      const signed = (i: number, key = keys[i]!): DeviceUnbindRequest => {
        const ts = Date.now();
        const nonce = randomUrlSafe(24);
        return { devId: ids[i]!, token, ts, nonce, sig: signDeviceRequest(key, ids[i]!, token, ts, nonce) };
      };

      expect(ids.map((_, i) => unbind.unbind(signed(i)).result)).toEqual(Array(6).fill('UNBOUND'));
      expect(opens).toBe(6);
      // The first device lost its answer and asks again: its key was evicted long ago, it is decrypted again.
      expect(unbind.unbind(signed(0))).toMatchObject({ result: 'UNBOUND', replayed: true });
      expect(opens).toBe(7);
      // A forger for the last device (still cached) is told DEVICE_AUTH with no decrypt; so is one for an evicted device, after one.
      expect(unbind.unbind(signed(5, randomUrlSafe(32)))).toMatchObject({ result: 'FAILED', reason: 'DEVICE_AUTH' });
      expect(opens).toBe(7);
      expect(unbind.unbind(signed(2, randomUrlSafe(32)))).toMatchObject({ result: 'FAILED', reason: 'DEVICE_AUTH' });
      expect(opens).toBe(8);
    } finally {
      db.close();
    }
  });
});
