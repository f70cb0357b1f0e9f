import { z } from 'zod';
import { randomUrlSafe } from '../protocol/index.js';
import type { AuthorityServices } from './services.js';
import type { SecretBox } from './secret-box.js';
import { addRoleProducts } from './authorizations.js';

/**
 * The demo world of issue 2: region EU with an owner and five-plus products (QR camera, wired NVR and
 * DVR, UART gateway, legacy camera without unbind, camera with a minimum firmware, an OEM camera), a
 * partner, an After-sale member, an account with no rights, an OEM source, and an owner in region AY.
 * 640 devices, most bound to consumers, some shared, some already unbound, a few below minimum firmware.
 */
export const DEMO_ROLES = ['owner', 'partner', 'member', 'none', 'oem'] as const;

interface DemoAccount {
  id: string;
  name: string;
  role: (typeof DEMO_ROLES)[number];
  region: string;
}
const ACCOUNTS: DemoAccount[] = [
  { id: 'acc-owner', name: 'Acme Devices', role: 'owner', region: 'EU' },
  { id: 'acc-partner', name: 'FixIt Returns', role: 'partner', region: 'EU' },
  { id: 'acc-member', name: 'Acme After-sale Desk', role: 'member', region: 'EU' },
  { id: 'acc-none', name: 'Corner Shop', role: 'none', region: 'EU' },
  { id: 'acc-oem', name: 'BrandCo', role: 'oem', region: 'EU' },
  { id: 'acc-ay-owner', name: 'Acme Americas', role: 'owner', region: 'AY' },
];

interface DemoProduct {
  pid: string;
  name: string;
  category: string;
  owner: string;
  unbindSupported: boolean;
  minFirmware: string | null;
  oemSource?: string;
  serialPrefix: string;
  count: number;
  firmware: string;
  region: string;
}
const PRODUCTS: DemoProduct[] = [
  { pid: 'pqr1cam', name: 'QR Camera C1', category: 'ipc', owner: 'acc-owner', unbindSupported: true, minFirmware: null, serialPrefix: 'QC1', count: 220, firmware: '3.2.0', region: 'EU' },
  { pid: 'pnvr8ch', name: 'Wired NVR 8ch', category: 'nvr', owner: 'acc-owner', unbindSupported: true, minFirmware: null, serialPrefix: 'NV8', count: 120, firmware: '4.0.1', region: 'EU' },
  { pid: 'pdvr4ch', name: 'Wired DVR 4ch', category: 'dvr', owner: 'acc-owner', unbindSupported: true, minFirmware: null, serialPrefix: 'DV4', count: 40, firmware: '4.0.1', region: 'EU' },
  { pid: 'pgw1uart', name: 'Gateway G1 (UART)', category: 'gateway', owner: 'acc-owner', unbindSupported: true, minFirmware: null, serialPrefix: 'GW1', count: 80, firmware: '1.8.0', region: 'EU' },
  { pid: 'plegacy1', name: 'Legacy Camera L1', category: 'ipc', owner: 'acc-owner', unbindSupported: false, minFirmware: null, serialPrefix: 'LG1', count: 40, firmware: '1.0.4', region: 'EU' },
  { pid: 'pfwcam2', name: 'Camera C2 (min firmware 2.1.0)', category: 'ipc', owner: 'acc-owner', unbindSupported: true, minFirmware: '2.1.0', serialPrefix: 'FC2', count: 80, firmware: '2.1.0', region: 'EU' },
  { pid: 'poemcam', name: 'BrandCo Camera (OEM)', category: 'ipc', owner: 'acc-owner', unbindSupported: true, minFirmware: null, oemSource: 'acc-oem', serialPrefix: 'OC1', count: 20, firmware: '3.2.0', region: 'EU' },
  { pid: 'payqr1', name: 'QR Camera C1 (Americas)', category: 'ipc', owner: 'acc-ay-owner', unbindSupported: true, minFirmware: null, serialPrefix: 'QA1', count: 40, firmware: '3.2.0', region: 'AY' },
];
/** The labels the demo's devices carry: `<prefix>-2611-<6 digits>` (see the seeding below). */
const serialFormatOf = (p: DemoProduct): string => `${p.serialPrefix}-####-######`;

const PARTNER_PIDS = ['pqr1cam', 'pnvr8ch'];
const AFTER_SALE_PIDS = ['pqr1cam', 'pgw1uart', 'pfwcam2'];
const CONSUMERS = 200;

export const demoExportSchema = z.object({
  authorityUrl: z.string().url(),
  accounts: z.array(
    z.object({ accountId: z.string(), name: z.string(), role: z.enum(DEMO_ROLES), clientId: z.string(), secret: z.string(), region: z.string() }),
  ),
  products: z.array(
    z.object({ pid: z.string(), name: z.string(), category: z.string(), owner: z.string(), unbindSupported: z.boolean(), minFirmware: z.string().nullable() }),
  ),
  devices: z.array(
    z.object({
      devId: z.string(),
      serial: z.string(),
      pid: z.string(),
      region: z.string(),
      firmware: z.string(),
      deviceKey: z.string(),
      bound: z.boolean(),
      /** The admin password of a wired device's local login (DESIGN §4.8): the virtual devices are made with it. */
      adminPassword: z.string().optional(),
    }),
  ),
});
export type DemoExport = z.infer<typeof demoExportSchema>;

/** Products whose devices have a local admin login (DESIGN §4.8): the LAN and UART devices. */
const ADMIN_LOGIN_CATEGORIES = new Set(['nvr', 'dvr', 'gateway']);
export const DEMO_ADMIN_PASSWORD = 'Bench-Admin-2024';
/**
 * The demo's admin passwords: one for most devices, as a returns bench sees them, and every tenth device
 * (numbers ending in 7) set to a password of its own by its former owner.
 */
export function demoAdminPassword(devId: string, serial: string): string {
  return /7$/.test(devId) ? `Owner-${serial.slice(-6)}` : DEMO_ADMIN_PASSWORD;
}

/** Seeds the demo world once; a second call on the same store does nothing. */
export function seedDemo(s: AuthorityServices): boolean {
  if (s.db.prepare("SELECT 1 FROM meta WHERE key = 'demo_seeded'").get()) {
    // A demo seeded before products carried serial formats gets them (only where none is on record).
    const set = s.db.prepare('UPDATE products SET serial_format = ? WHERE pid = ? AND serial_format IS NULL');
    s.db.transaction(() => PRODUCTS.forEach((p) => set.run(serialFormatOf(p), p.pid)))();
    return false;
  }
  const now = s.clock();
  s.db.transaction(() => {
    for (const a of ACCOUNTS) s.accounts.create({ id: a.id, name: a.name, region: a.region }, now);
    for (let c = 1; c <= CONSUMERS; c++) s.registry.addConsumer(`c-${String(c).padStart(4, '0')}`, `Consumer ${c}`, c % 10 === 0 ? 'AY' : 'EU');
    for (const p of PRODUCTS) {
      s.registry.addProduct({ pid: p.pid, name: p.name, category: p.category, ownerId: p.owner, unbindSupported: p.unbindSupported, minFirmware: p.minFirmware, oemSourceId: p.oemSource ?? null, serialFormat: serialFormatOf(p) });
    }
    let n = 0;
    for (const p of PRODUCTS) {
      for (let i = 1; i <= p.count; i++, n++) {
        const devId = `${p.pid}-${String(i).padStart(4, '0')}`;
        // A few of the minimum-firmware camera run 2.0.3, below its 2.1.0.
        const firmware = p.minFirmware && i % 8 === 1 ? '2.0.3' : p.firmware;
        s.registry.addDevice({ devId, serial: `${p.serialPrefix}-2611-${String(i).padStart(6, '0')}`, pid: p.pid, region: p.region, firmware, deviceKey: randomUrlSafe(32) });
        if (i % 25 === 0) continue; // already unbound: comes back as NOT_BOUND
        const consumer = `c-${String((n % CONSUMERS) + 1).padStart(4, '0')}`;
        s.registry.bind(devId, consumer, now);
        if (i % 7 === 0) {
          for (let k = 1; k <= 1 + (i % 3); k++) s.registry.share(devId, 1, consumer, `c-${String(((n + k * 13) % CONSUMERS) + 1).padStart(4, '0')}`, now);
        }
      }
    }
    for (const pid of PARTNER_PIDS) s.authorizations.grantPartner('acc-owner', pid, 'acc-partner', now);
    // The partner is a verified installer and files cases (§4.10); the account with no rights is not.
    s.accounts.setVerifiedInstaller('acc-partner', true);
    const space = s.authorizations.ensureSpace('acc-owner');
    addRoleProducts(s.db, `${space}-after-sale`, AFTER_SALE_PIDS);
    s.authorizations.setMember('acc-owner', 'acc-member', `${space}-after-sale`, now);
    s.authorizations.ensureSpace('acc-ay-owner');
    s.db.prepare("INSERT INTO meta (key, value) VALUES ('demo_seeded', ?)").run(new Date(now).toISOString());
  })();
  return true;
}

/** What the demo export is made of, read from either store (secrets still sealed). */
export interface DemoRows {
  accounts: Array<{ id: string; name: string; region: string; client_id: string; secret_enc: string }>;
  products: Array<{ pid: string; name: string; category: string; owner_id: string; unbind_supported: number | boolean; min_firmware: string | null }>;
  devices: Array<{ dev_id: string; serial: string; pid: string; region: string; firmware: string; key_enc: string; bound: number | boolean }>;
}

/** The queries of DemoRows, in SQL both stores read (the same order on both). */
export const DEMO_ROWS_SQL = {
  accounts: 'SELECT id, name, region, client_id, secret_enc FROM accounts ORDER BY created_at, id',
  products: 'SELECT pid, name, category, owner_id, unbind_supported, min_firmware FROM products ORDER BY pid',
  devices:
    'SELECT d.dev_id, d.serial, d.pid, d.region, d.firmware, d.key_enc, (b.dev_id IS NOT NULL) AS bound FROM devices d LEFT JOIN bindings b ON b.dev_id = d.dev_id ORDER BY d.dev_id',
} as const;

/** The demo world with the secrets virtual devices and tests need (never served over HTTP). */
export function demoExportOf(rows: DemoRows, box: SecretBox, authorityUrl: string): DemoExport {
  const roleOf = new Map(ACCOUNTS.map((a) => [a.id, a.role] as const));
  const accounts = rows.accounts
    .filter((a) => roleOf.has(a.id))
    .map((a) => ({ accountId: a.id, name: a.name, role: roleOf.get(a.id)!, clientId: a.client_id, secret: box.open(a.secret_enc), region: a.region }));
  const products = rows.products.map((p) => ({ pid: p.pid, name: p.name, category: p.category, owner: p.owner_id, unbindSupported: !!p.unbind_supported, minFirmware: p.min_firmware }));
  const categoryOf = new Map(products.map((p) => [p.pid, p.category]));
  const devices = rows.devices.map((d) => ({
    devId: d.dev_id,
    serial: d.serial,
    pid: d.pid,
    region: d.region,
    firmware: d.firmware,
    deviceKey: box.open(d.key_enc),
    bound: !!d.bound,
    ...(ADMIN_LOGIN_CATEGORIES.has(categoryOf.get(d.pid) ?? '') ? { adminPassword: demoAdminPassword(d.dev_id, d.serial) } : {}),
  }));
  return { authorityUrl, accounts, products, devices };
}

/** The demo world of a SQLite store, as it is now. */
export function exportDemo(s: AuthorityServices, box: SecretBox, authorityUrl: string): DemoExport {
  const read = <K extends keyof DemoRows>(k: K): DemoRows[K] => s.db.prepare(DEMO_ROWS_SQL[k]).all() as DemoRows[K];
  return demoExportOf({ accounts: read('accounts'), products: read('products'), devices: read('devices') }, box, authorityUrl);
}
