import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { generateToken, randomUrlSafe, sha256Hex, signDeviceRequest, type Channel, type DeviceUnbindRequest } from '../../../src/protocol/index.js';
import { createSecretBox, type SecretBox } from '../../../src/cloud/secret-box.js';

/**
 * A small world seeded straight into a migrated PostgreSQL: an owner with products, a partner, a stranger,
 * bound devices with their keys sealed under a master key, and tokens issued as src/cloud/tokens.ts does.
 */
export interface SeededDevice {
  devId: string;
  pid: string;
  key: string;
}

export interface World {
  box: SecretBox;
  devices(pid: string): SeededDevice[];
  issue(accountId: string, capacity: number, opts?: { region?: string; ttlMs?: number; channel?: Channel }): Promise<{ id: string; token: string }>;
  request(dev: SeededDevice, token: string, opts?: { nonce?: string; ts?: number; sig?: string }): DeviceUnbindRequest;
}

export async function seedWorld(pool: Pool, o: { boundDevices: number; unboundDevices?: number; now?: () => number }): Promise<World> {
  const now = o.now ?? Date.now;
  const box = createSecretBox(randomBytes(32));
  const q = (sql: string, params: unknown[] = []) => pool.query(sql, params);
  for (const [id, name] of [['acc-owner', 'Owner'], ['acc-partner', 'Partner'], ['acc-stranger', 'Stranger']] as const) {
    await q('INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [id, name, 'EU', `cid-${id}`, box.seal(`secret-${id}`), now()]);
  }
  await q("INSERT INTO consumers (id, name, region) VALUES ('con-1', 'Consumer', 'EU'), ('con-2', 'Friend', 'EU')");
  await q("INSERT INTO products (pid, name, category, owner_id, unbind_supported, min_firmware) VALUES ('cam1', 'Camera', 'camera', 'acc-owner', true, NULL), ('old1', 'Old', 'camera', 'acc-owner', false, NULL)");
  await q("INSERT INTO partner_grants (pid, account_id, granted_at) VALUES ('cam1', 'acc-partner', $1)", [now()]);
  const byPid = new Map<string, SeededDevice[]>();
  const add = async (pid: string, n: number, bound: boolean, prefix: string): Promise<void> => {
    const list = byPid.get(pid) ?? [];
    for (let i = 0; i < n; i++) {
      const devId = `${prefix}-${String(list.length).padStart(4, '0')}`;
      const key = randomUrlSafe(24);
      await q('INSERT INTO devices (dev_id, serial, pid, region, firmware, key_enc) VALUES ($1, $2, $3, $4, $5, $6)', [devId, `SN${devId}`, pid, 'EU', '1.0.0', box.seal(key)]);
      if (bound) {
        await q("INSERT INTO bindings (dev_id, consumer_id, bound_at) VALUES ($1, 'con-1', $2)", [devId, now()]);
        await q("INSERT INTO shares (dev_id, channel, owner_id, receiver_id, shared_at) VALUES ($1, 1, 'con-1', 'con-2', $2)", [devId, now()]);
      }
      list.push({ devId, pid, key });
    }
    byPid.set(pid, list);
  };
  await add('cam1', o.boundDevices, true, 'cam1');
  await add('cam1', o.unboundDevices ?? 0, false, 'cam1u');
  await add('old1', 1, true, 'old1');
  return {
    box,
    devices: (pid) => byPid.get(pid) ?? [],
    async issue(accountId, capacity, opts = {}) {
      const t = generateToken(opts.region ?? 'EU');
      await q(
        `INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, batch_ref, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)`,
        [t.id, sha256Hex(t.secret), accountId, t.region, capacity, opts.channel ?? 'qr', now(), now() + (opts.ttlMs ?? 600_000)],
      );
      return { id: t.id, token: t.token };
    },
    request(dev, token, opts = {}) {
      const ts = opts.ts ?? now();
      const nonce = opts.nonce ?? randomUrlSafe(20);
      return { devId: dev.devId, token, ts, nonce, sig: opts.sig ?? signDeviceRequest(dev.key, dev.devId, token, ts, nonce) };
    },
  };
}
