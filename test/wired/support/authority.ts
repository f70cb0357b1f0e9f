import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthority, type AuthorityOptions } from '../../../src/cloud/authority.js';
import { demoExportSchema, type DemoExport, type DeviceIdentity } from '../../../src/device/index.js';
import { createAuthorityClient } from '../../../src/batch/station-authority-client.js';
import type { DeviceLogView, IssuedToken } from '../../../src/protocol/index.js';
import { allDeviceLogs } from '../../support/signed-station-calls.js';

/** The real authority with the demo world, and the few signed station calls the wired tests make. */
export interface WiredAuthority {
  url: string;
  demo: DemoExport;
  /** Issues a `wired` token of the owner account (region EU). */
  issueToken(capacity: number): Promise<IssuedToken>;
  /** The authority's device logs (owner's view) for a query such as {tokenId} or {devId}. */
  deviceLogs(query: Record<string, string>): Promise<DeviceLogView[]>;
  /** Bound devices of wired products, handed out once each so tests never share a device. */
  take(n: number, pid?: string, filter?: (d: DeviceIdentity) => boolean): DeviceIdentity[];
  /** The authority's reset code for a device's reset request (DESIGN §4.9), as an approved case answers it. */
  resetCodeFor(devId: string, challenge: string): string;
  close(): Promise<void>;
}

export async function startWiredAuthority(over: Partial<AuthorityOptions> = {}): Promise<WiredAuthority> {
  const dir = await mkdtemp(join(tmpdir(), 'wired-authority-'));
  const authority = await startAuthority({ dbPath: join(dir, 'authority.db'), port: 0, host: '127.0.0.1', demo: true, logLevel: 'warn', ...over });
  const demo = demoExportSchema.parse(authority.exportDemo());
  const ownerAccount = demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;

  const owner = { url: authority.url, clientId: ownerAccount.clientId, secret: ownerAccount.secret };
  const client = createAuthorityClient(owner);

  const handedOut = new Set<string>();
  const wiredPids = ['pnvr8ch', 'pdvr4ch', 'pgw1uart'];
  return {
    url: authority.url,
    demo,
    issueToken: (capacity) => client.issueToken({ capacity, channel: 'wired' }),
    deviceLogs: (query) => allDeviceLogs(owner, query),
    take(n, pid, filter = () => true) {
      const picked = demo.devices
        .filter((d) => (pid ? d.pid === pid : wiredPids.includes(d.pid)) && d.bound && !handedOut.has(d.devId) && filter(d))
        .slice(0, n);
      if (picked.length < n) throw new Error(`only ${picked.length} bound wired devices left, need ${n}`);
      for (const d of picked) handedOut.add(d.devId);
      return picked;
    },
    resetCodeFor: (devId, challenge) => {
      const code = authority.services.resetCodes.resetCodeFor(devId, challenge);
      if (code === undefined) throw new Error(`no device ${devId}`);
      return code;
    },
    async close() {
      await authority.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
