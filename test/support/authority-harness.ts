import { Writable } from 'node:stream';
import { randomUrlSafe, signDeviceRequest, type DeviceUnbindResponse, type IssueTokenRequest, type IssuedToken } from '../../src/protocol/index.js';
import { createAuthorityClient, sendSignedRequest, type AuthorityClient } from '../../src/batch/station-authority-client.js';
import { startAuthority, type AuthorityOptions, type RunningAuthority } from '../../src/cloud/authority.js';
import type { DemoExport } from '../../src/cloud/demo.js';
import { sendCraftedStationRequest } from './crafted-station-request.js';
import { freshAuthorityStore, type AuthorityStoreKind } from './authority-store.js';
import { createPgPool } from '../../src/cloud/pg/pg-pool.js';

/** A real authority on 127.0.0.1 with the demo world, and real HTTP clients for stations and devices. */
export interface HttpAnswer<T = any> {
  status: number;
  body: T;
}

export type DemoAccount = DemoExport['accounts'][number];
export type DemoDevice = DemoExport['devices'][number];

export interface StationClient {
  account: DemoAccount;
  /** The station's real signed client of the authority, for this account. */
  client: AuthorityClient;
  /** Any `/api/v1` call through the real signed transport; with `nonce`, `t`, `tamper` or `rawBody`, a hand-crafted one. */
  call<T = any>(method: string, path: string, body?: unknown, opts?: { nonce?: string; t?: number; tamper?: (h: Record<string, string>) => void; rawBody?: string }): Promise<HttpAnswer<T>>;
  issueToken(capacity?: number, extra?: Record<string, unknown>): Promise<IssuedToken>;
}

export interface Harness {
  /** The store this authority runs on (AUTHORITY_STORE, see authority-store.ts). */
  store: AuthorityStoreKind;
  authority: RunningAuthority;
  demo: DemoExport;
  url: string;
  logs: string[];
  now(): number;
  setNow(ms: number): void;
  station(role: DemoAccount['role'], region?: string): StationClient;
  device(devId: string): DemoDevice;
  devices(filter: (d: DemoDevice) => boolean): DemoDevice[];
  /** Rows of a table of the store (either store): for tests that check nothing else was written. */
  count(table: string): Promise<number>;
  /** The one number a query answers, on either store (`?` placeholders, SQL both dialects read). */
  scalar(sql: string, ...args: unknown[]): Promise<number>;
  /** Every row of these tables, as JSON text (either store): to show what is stored and what is not. */
  dump(tables: string[]): Promise<string>;
  unbind(dev: DemoDevice, token: string, opts?: { ts?: number; nonce?: string; sig?: string }): Promise<HttpAnswer<DeviceUnbindResponse>>;
  close(): Promise<void>;
}

export async function startHarness(opts: Partial<AuthorityOptions> & { fakeClockStart?: number } = {}): Promise<Harness> {
  const store = await freshAuthorityStore();
  let fake = opts.fakeClockStart ?? null;
  const clock = (): number => fake ?? Date.now();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const authority = await startAuthority({ dbPath: store.db, keyFile: store.keyFile, demo: true, clock, logLevel: 'debug', logStream, ...opts }).catch(async (e: unknown) => {
    await store.drop();
    throw e;
  });
  const demo = authority.exportDemo();
  const byId = new Map(demo.devices.map((d) => [d.devId, d]));

  async function scalar(sql: string, ...args: unknown[]): Promise<number> {
    if (store.kind === 'sqlite') return Number(authority.services.db.prepare(sql).pluck().get(...args));
    let i = 0;
    const pool = createPgPool(store.db, { max: 1 });
    try {
      const r = await pool.query({ text: sql.replace(/\?/g, () => `$${++i}`), values: args, rowMode: 'array' });
      return Number((r.rows[0] as unknown[])[0]);
    } finally {
      await pool.end();
    }
  }

  function station(role: DemoAccount['role'], region = 'EU'): StationClient {
    const account = demo.accounts.find((a) => a.role === role && a.region === region);
    if (!account) throw new Error(`no demo account ${role}/${region}`);
    const credentials = { url: authority.url, clientId: account.clientId, secret: account.secret };
    const client = createAuthorityClient(credentials, { clock });
    const call: StationClient['call'] = async (method, path, body, o = {}) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      const crafted = o.nonce !== undefined || o.t !== undefined || o.tamper !== undefined || o.rawBody !== undefined;
      const res = crafted
        ? await sendCraftedStationRequest(authority.url, account, method, path, { body: o.rawBody ?? text, nonce: o.nonce, t: o.t, now: clock, tamper: o.tamper })
        : await sendSignedRequest(credentials, method, path, { body: text, clock });
      const raw = await res.text();
      // A photo (a case's label) is no JSON: its text is given as it came.
      const json = raw && (res.headers.get('content-type') ?? '').startsWith('application/json');
      return { status: res.status, body: json ? JSON.parse(raw) : raw || undefined };
    };
    return {
      account,
      client,
      call,
      issueToken: (capacity = 30, extra = {}) => client.issueToken({ capacity, channel: 'qr', ...extra } as IssueTokenRequest),
    };
  }

  return {
    store: store.kind,
    authority,
    demo,
    url: authority.url,
    logs,
    now: clock,
    setNow(ms) {
      fake = ms;
    },
    station,
    device(devId) {
      const d = byId.get(devId);
      if (!d) throw new Error(`no demo device ${devId}`);
      return d;
    },
    devices: (filter) => demo.devices.filter(filter),
    async count(table) {
      if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
      return scalar(`SELECT COUNT(*) AS n FROM ${table}`);
    },
    scalar,
    async dump(tables) {
      const out: unknown[] = [];
      const pool = store.kind === 'pg' ? createPgPool(store.db, { max: 1 }) : null;
      try {
        for (const t of tables) {
          if (!/^[a-z_]+$/.test(t)) throw new Error(`not a table name: ${t}`);
          out.push(pool ? (await pool.query(`SELECT * FROM ${t}`)).rows : authority.services.db.prepare(`SELECT * FROM ${t}`).all());
        }
      } finally {
        await pool?.end();
      }
      return JSON.stringify(out);
    },
    async unbind(dev, token, o = {}) {
      const ts = o.ts ?? clock();
      const nonce = o.nonce ?? randomUrlSafe(24);
      const sig = o.sig ?? signDeviceRequest(dev.deviceKey, dev.devId, token, ts, nonce);
      const res = await fetch(`${authority.url}/device/v1/unbind`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ devId: dev.devId, token, ts, nonce, sig }),
      });
      return { status: res.status, body: (await res.json()) as DeviceUnbindResponse };
    },
    async close() {
      await authority.close();
      await store.drop();
    },
  };
}

/** Bound devices of a product whose firmware the product accepts. */
export function eligible(h: Harness, pid: string): DemoDevice[] {
  const minFw = h.demo.products.find((p) => p.pid === pid)?.minFirmware;
  return h.devices((d) => d.pid === pid && d.bound && (!minFw || d.firmware >= minFw));
}
