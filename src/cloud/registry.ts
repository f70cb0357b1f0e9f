import type { Database } from 'better-sqlite3';
import type { SecretBox } from './secret-box.js';
import { AuthorityError } from './errors.js';

/** Products, devices and their consumer-side state (bindings, shares): what the vendor cloud knows. */
export const MAX_SHARE_RECEIVERS_PER_CHANNEL = 64;
export const MAX_SHARING_ACCOUNTS_PER_RECEIVER = 100;

export interface NewProduct {
  pid: string;
  name: string;
  category: string;
  ownerId: string;
  unbindSupported: boolean;
  minFirmware: string | null;
  oemSourceId?: string | null;
  serialFormat?: string | null;
}

export interface NewDevice {
  devId: string;
  serial: string;
  pid: string;
  region: string;
  firmware: string;
  deviceKey: string;
}

export interface Registry {
  addProduct(p: NewProduct): void;
  addDevice(d: NewDevice): void;
  addConsumer(id: string, name: string, region: string): void;
  bind(devId: string, consumerId: string, now: number): void;
  share(devId: string, channel: number, ownerId: string, receiverId: string, now: number): void;
  bindingOf(devId: string): string | undefined;
  sharesOf(devId: string): Array<{ channel: number; receiverId: string }>;
}

export function createRegistry(db: Database, box: SecretBox): Registry {
  const q = {
    product: db.prepare(
      'INSERT INTO products (pid, name, category, owner_id, unbind_supported, min_firmware, oem_source_id, serial_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    device: db.prepare('INSERT INTO devices (dev_id, serial, pid, region, firmware, key_enc) VALUES (?, ?, ?, ?, ?, ?)'),
    consumer: db.prepare('INSERT INTO consumers (id, name, region) VALUES (?, ?, ?)'),
    bind: db.prepare('INSERT OR REPLACE INTO bindings (dev_id, consumer_id, bound_at) VALUES (?, ?, ?)'),
    binding: db.prepare<[string], { consumer_id: string }>('SELECT consumer_id FROM bindings WHERE dev_id = ?'),
    channelCount: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM shares WHERE dev_id = ? AND channel = ?'),
    sharersOf: db.prepare<[string, string], { n: number; has: number }>(
      'SELECT COUNT(DISTINCT owner_id) AS n, MAX(owner_id = ?) AS has FROM shares WHERE receiver_id = ?',
    ),
    share: db.prepare('INSERT OR IGNORE INTO shares (dev_id, channel, owner_id, receiver_id, shared_at) VALUES (?, ?, ?, ?, ?)'),
    shares: db.prepare<[string], { channel: number; receiver_id: string }>(
      'SELECT channel, receiver_id FROM shares WHERE dev_id = ? ORDER BY channel, receiver_id',
    ),
  };
  return {
    addProduct(p) {
      q.product.run(p.pid, p.name, p.category, p.ownerId, p.unbindSupported ? 1 : 0, p.minFirmware, p.oemSourceId ?? null, p.serialFormat ?? null);
    },
    addDevice(d) {
      q.device.run(d.devId, d.serial, d.pid, d.region, d.firmware, box.seal(d.deviceKey));
    },
    addConsumer(id, name, region) {
      q.consumer.run(id, name, region);
    },
    bind(devId, consumerId, now) {
      q.bind.run(devId, consumerId, now);
    },
    share(devId, channel, ownerId, receiverId, now) {
      db.transaction(() => {
        if (q.binding.get(devId)?.consumer_id !== ownerId) throw new AuthorityError(409, 'NOT_BOUND_TO_OWNER', `${devId} is not bound to ${ownerId}`);
        if (q.channelCount.get(devId, channel)!.n >= MAX_SHARE_RECEIVERS_PER_CHANNEL) {
          throw new AuthorityError(409, 'SHARE_LIMIT', `channel ${channel} of ${devId} is shared with ${MAX_SHARE_RECEIVERS_PER_CHANNEL} accounts already`);
        }
        const s = q.sharersOf.get(ownerId, receiverId)!;
        if (!s.has && s.n >= MAX_SHARING_ACCOUNTS_PER_RECEIVER) {
          throw new AuthorityError(409, 'SHARE_LIMIT', `${receiverId} receives shares from ${MAX_SHARING_ACCOUNTS_PER_RECEIVER} accounts already`);
        }
        q.share.run(devId, channel, ownerId, receiverId, now);
      })();
    },
    bindingOf: (devId) => q.binding.get(devId)?.consumer_id,
    sharesOf: (devId) => q.shares.all(devId).map((s) => ({ channel: s.channel, receiverId: s.receiver_id })),
  };
}
