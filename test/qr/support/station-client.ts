import { createAuthorityClient } from '../../../src/batch/station-authority-client.js';
import type { DeviceLogView, IssuedToken } from '../../../src/protocol/index.js';
import { allDeviceLogs } from '../../support/signed-station-calls.js';

/** The few station calls the QR integration tests need, through the station's real signed client (DESIGN §4.4). */
export interface Account {
  clientId: string;
  secret: string;
}

export function issueToken(baseUrl: string, account: Account, capacity: number, ttlSeconds?: number): Promise<IssuedToken> {
  const client = createAuthorityClient({ url: baseUrl, clientId: account.clientId, secret: account.secret });
  return client.issueToken({ capacity, channel: 'qr', ...(ttlSeconds ? { ttlSeconds } : {}) });
}

export function deviceLogs(baseUrl: string, account: Account, query: Record<string, string>): Promise<DeviceLogView[]> {
  return allDeviceLogs({ url: baseUrl, clientId: account.clientId, secret: account.secret }, query);
}
