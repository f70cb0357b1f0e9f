import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomUrlSafe, signDeviceRequest, type DeviceUnbindResponse, type IssueTokenRequest, type IssuedToken } from '../../src/protocol/index.js';
import { createAuthorityClient, sendSignedRequest, type AuthorityClient } from '../../src/batch/station-authority-client.js';
import { startAuthority, type AuthorityOptions, type RunningAuthority } from '../../src/cloud/authority.js';
import type { DemoExport } from '../../src/cloud/demo.js';
import { sendCraftedStationRequest } from './crafted-station-request.js';

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
  authority: RunningAuthority;
  demo: DemoExport;
  url: string;
  logs: string[];
  now(): number;
  setNow(ms: number): void;
  station(role: DemoAccount['role'], region?: string): StationClient;
  device(devId: string): DemoDevice;
  devices(filter: (d: DemoDevice) => boolean): DemoDevice[];
  unbind(dev: DemoDevice, token: string, opts?: { ts?: number; nonce?: string; sig?: string }): Promise<HttpAnswer<DeviceUnbindResponse>>;
  close(): Promise<void>;
}

export async function startHarness(opts: Partial<AuthorityOptions> & { fakeClockStart?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'authority-'));
  let fake = opts.fakeClockStart ?? null;
  const clock = (): number => fake ?? Date.now();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const authority = await startAuthority({ dbPath: join(dir, 'authority.db'), demo: true, clock, logLevel: 'debug', logStream, ...opts });
  const demo = authority.exportDemo();
  const byId = new Map(demo.devices.map((d) => [d.devId, d]));

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
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bound devices of a product whose firmware the product accepts. */
export function eligible(h: Harness, pid: string): DemoDevice[] {
  const minFw = h.demo.products.find((p) => p.pid === pid)?.minFirmware;
  return h.devices((d) => d.pid === pid && d.bound && (!minFw || d.firmware >= minFw));
}
